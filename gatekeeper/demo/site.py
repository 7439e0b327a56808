"""The demo news site: "The Harbour Ledger", a made-up local paper.

A plain Starlette app with no knowledge of gatekeeper. It behaves like the sites
gatekeeper is written for: every HTML page sets an analytics cookie (`_ga`) and carries
tagged analytics scripts (`data-consent="analytics"`), so the demo can show the middleware
dropping the cookie and keeping the scripts inert until the visitor agrees.

Routes: `/`, `/articles/{slug}`, `/privacy`, `/contact`, `/api/articles` (JSON) and the
site's own assets under `/assets/`. Pages are f-strings; every piece of text goes through
`html.escape`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from html import escape

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

SITE_NAME = "The Harbour Ledger"
TAGLINE = "News from Port Wenlow and the Avel estuary"
DEFAULT_CONSENT_PATH = "/_gatekeeper/consent"

ANALYTICS_COOKIE = "_ga"
ANALYTICS_MAX_AGE = 2 * 365 * 24 * 60 * 60  # two years, as Google Analytics does
_GA_VALUE = re.compile(r"GA1\.\d\.\d{6,12}\.\d{9,11}")

ASSET_CACHE_CONTROL = "public, max-age=3600"


# --------------------------------------------------------------------------- content


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    summary: str
    published: date
    byline: str
    section: str
    paragraphs: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"/articles/{self.slug}"


LEAD = Article(
    slug="saltings-lock-reopens",
    title="Restored lock opens the Saltings Basin to boats after forty years",
    summary=(
        "New oak gates swung open on Saturday morning, letting working boats and dinghies "
        "back into the town's oldest dock for the first time since 1986."
    ),
    published=date(2026, 11, 24),
    byline="Mara Quillan, harbour correspondent",
    section="Harbour",
    paragraphs=(
        "A little after high water on Saturday, a blue crab boat called Persistence eased "
        "through the gates of the Saltings Basin lock and into water that no working "
        "vessel had reached since 1986. Around three hundred people stood along the quay "
        "walls to watch, and the brass group from St Petroc's primary school played a tune "
        "that most of the crowd decided was a sea shanty.",
        "The lock was built in 1871 so that coal barges could reach the yards behind Quay "
        "Street. When its timber gates rotted in the mid-1980s, the harbour board could not "
        "afford new ones and poured a concrete dam across the entrance instead. Over the "
        "following decades the basin filled with silt, reeds and, according to the "
        "volunteers who spent two summers clearing it, an unexpected number of bicycles.",
        "Reopening it took six years and £4.2 million. A national heritage grant covered "
        "most of the bill; the rest came from the town council, a handful of local firms "
        "and the Saltings Basin Trust, which raised its share through sponsored swims, a "
        "calendar of retired harbour pilots and a long run of Friday quiz nights at the "
        "Anchor and Compass.",
        "\u201cPlenty of people told us it couldn\u2019t be done,\u201d said Hollis "
        "Brennard, who chairs the trust and first suggested the idea at a public meeting in "
        "2017. \u201cThey had good reasons. But every time the tide came in you could see the "
        "water pressing against that dam, wanting to get back where it belonged. All we did "
        "was give it a door.\u201d",
        "The new gates were cut from green oak at a boatyard upriver at Callow Reach and "
        "floated down the estuary on a spring tide in August, towed by two of the yard\u2019s "
        "own launches. The cast-iron paddle gear that fills and empties the lock chamber "
        "was taken apart, cleaned and rebuilt by engineering apprentices from Wenlow "
        "Technical College, who say the hinge pins alone weigh more than a family car.",
        "Harbour master Ines Okafor said the lock will operate for two hours either side "
        "of high water every day from April to October, and at weekends over the winter. "
        "Boats up to eleven metres long can pass through, and there will be no fee for the "
        "first year while the trust counts how many people use it. Skippers are asked to "
        "call the lock keeper on VHF channel 14 before they approach.",
        "Not everyone is pleased. Some residents of the flats built along the basin in the "
        "early 2000s fear engine noise, diesel fumes and the smell of bait on warm "
        "evenings. \u201cWe moved here because it was the quietest corner of town,\u201d "
        "said one neighbour, who asked not to be named. The trust has promised a speed "
        "limit of three knots inside the basin, no generators running overnight and a "
        "residents\u2019 seat on its operations committee.",
        "Traders on Quay Street are more cheerful. Delphine Marr, who runs the chandlery "
        "beside the lock, said she had sold more mooring rope in the past month than in the "
        "whole of last year. The council hopes the basin will tempt visiting yachts that "
        "currently sail straight past Port Wenlow on their way to the larger marinas "
        "further along the coast, and has set aside twelve short-stay berths for them.",
        "The work is not quite finished. A second, smaller lock at the far end of the "
        "basin, which once led into the Wenlow Cut canal, is still blocked, and the trust "
        "reckons it would cost another £1.5 million to restore. Brennard is not put off. "
        "\u201cGive us another six years,\u201d he said, \u201cand a great many more quiz "
        "nights.\u201d",
        "The trust will hold an open day at the basin on Sunday 6 December, with guided "
        "walks across the top of the lock gates, a display of photographs from the old "
        "coal yards and demonstrations of the paddle gear every hour from ten until three. "
        "Entry is free; donations go towards the canal lock.",
    ),
)

ARTICLES: tuple[Article, ...] = (
    LEAD,
    Article(
        slug="night-ferry-returns",
        title="Late ferry to Callow Reach returns for the winter",
        summary=(
            "From 1 December the last boat of the day will leave Port Wenlow at 22:40, "
            "after hospital night staff collected more than 2,000 signatures."
        ),
        published=date(2026, 11, 21),
        byline="Tomas Pell, transport reporter",
        section="Transport",
        paragraphs=(
            "The late-evening ferry across the estuary to Callow Reach will run again this "
            "winter, eighteen months after it was cut to save money. From 1 December the "
            "final crossing of the day will leave the Town Steps at 22:40, with a return "
            "sailing from Callow Reach pontoon at 23:05.",
            "The change follows a petition started by nurses and porters at Callow Reach "
            "General Hospital, many of whom live in Port Wenlow and finish their shifts "
            "after the previous last boat had gone. Without it, the journey home by road "
            "around the head of the estuary takes almost an hour, and the last bus leaves "
            "before ten.",
            "\u201cWe weren\u2019t asking for anything fancy,\u201d said Priya Vance, a "
            "theatre nurse who gathered many of the 2,140 signatures in the hospital "
            "canteen. \u201cJust a way to get home that doesn\u2019t involve a taxi fare "
            "bigger than the shift allowance.\u201d",
            "The estuary ferry company said the extra sailing would be paid for by a "
            "three-year agreement with the hospital trust and the county council, and that "
            "it had recruited two more deckhands to cover the later hours. Fares will be "
            "unchanged, and hospital staff showing a badge will travel free after nine in "
            "the evening.",
            "The company\u2019s operations manager, Gareth Lowe, said the boat would not sail "
            "in winds above force seven or in thick fog, as with the daytime service. "
            "Passengers can check for cancellations on the noticeboard at the Town Steps or "
            "by calling the ferry office, which will now be staffed until the last boat "
            "has tied up.",
            "The ferry has crossed the estuary in one form or another since at least 1760, "
            "when a rowing boat carried passengers between the two villages on demand. The "
            "present boat, the Kittiwake, takes up to sixty people and a dozen bicycles and "
            "has worked the route since 2011.",
            "Joan Trelease, who represents the waterfront ward on the council, said the "
            "decision showed what could happen when people who are usually too busy to "
            "campaign found the time to do it. \u201cThese are the people who look after us "
            "at three in the morning,\u201d she said. \u201cThe least we can do is get them "
            "home.\u201d",
            "If the late sailings carry enough passengers by the end of March, the company "
            "says it will consider running them through the summer as well, when visitors "
            "often ask for a later boat back from the pubs and restaurants at Callow Reach.",
        ),
    ),
    Article(
        slug="library-seed-exchange",
        title="Library turns its old card catalogue into a seed exchange",
        summary=(
            "Gardeners can now borrow seeds from the drawers that once held the index "
            "cards, as long as they return some from their own crop at the end of the year."
        ),
        published=date(2026, 11, 18),
        byline="Anwen Sato, community reporter",
        section="Community",
        paragraphs=(
            "The oak card catalogue that stood in the entrance hall of Port Wenlow Library "
            "for almost a century has found a new use. Its sixty small drawers, which once "
            "held typed index cards for every book on the shelves, are now filled with "
            "paper packets of vegetable, herb and flower seeds, free for anyone with a "
            "library card.",
            "The idea came from Jonah Adeyemi, a retired ship\u2019s engineer who has kept an "
            "allotment above the harbour for thirty years. He noticed that many of the "
            "older varieties grown locally, including a purple runner bean that thrives in "
            "salty wind, were no longer sold in garden centres. \u201cIf nobody saves them, "
            "they simply disappear,\u201d he said.",
            "Borrowing works much like borrowing a book. Visitors take up to five packets, "
            "note them in a ledger on top of the cabinet, and are asked to bring back seed "
            "saved from their own plants after the harvest. Volunteers from the allotment "
            "society sort the returns, test a sample for germination and label the packets "
            "with the grower\u2019s notes.",
            "Librarian Ruth Calloway said the drawers had been in storage since the "
            "catalogue moved onto computers in 2004. \u201cIt felt wrong to sell something "
            "that had been part of the building for so long,\u201d she said. \u201cNow "
            "people open the drawers again, which is what they were made for.\u201d",
            "The exchange opens with about forty varieties, from the purple bean to a "
            "sea-kale that Adeyemi grew from seed found in a tin in his late father\u2019s "
            "shed. The library will run a seed-saving workshop on the first Saturday of "
            "each month through the winter, and is asking for donations of paper envelopes.",
            "In the spring a table by the door will hold spare seedlings for anyone to take "
            "or leave. Calloway hopes to add a shelf of gardening books beside the cabinet, "
            "\u201cso that people can look up what to do with a sea-kale once they have "
            "grown one\u201d.",
        ),
    ),
    Article(
        slug="fish-market-moves-indoors",
        title="Fish market leaves the quay for the old customs shed",
        summary=(
            "Traders have signed leases for stalls in the restored customs shed, ending "
            "a century of open-air selling on the quayside."
        ),
        published=date(2026, 11, 14),
        byline="Rafe Tennant, business reporter",
        section="Business",
        paragraphs=(
            "Port Wenlow\u2019s fish market will move indoors in the new year, ending more "
            "than a hundred years of trading from trestle tables on the North Quay. Eleven "
            "traders have signed leases for stalls in the former customs shed, which has "
            "stood empty since the customs office closed in 1998.",
            "The council spent eighteen months repairing the shed\u2019s roof, fitting cold "
            "rooms and laying a floor that can be hosed down at the end of each day. Stall "
            "rents will be fixed for three years, and the market will keep its early "
            "start: doors open at six, when the first boats have landed.",
            "Most traders welcome the move. \u201cYou try filleting mackerel in a February "
            "gale,\u201d said Maureen Halloran, whose family has sold fish on the quay for "
            "four generations. \u201cMy grandmother would have loved a roof. She\u2019d "
            "have complained about the rent, mind.\u201d",
            "Others worry that shoppers who stop at the quayside stalls on their way to the "
            "ferry will not walk the extra hundred metres to the shed. The council has "
            "promised signs along the waterfront and a covered walkway from the Town Steps, "
            "to be finished by the spring.",
            "The shed was built in 1887 from granite quarried up the valley, and still has "
            "the carved coat of arms over its door and the brass scales once used to weigh "
            "imported tea and tobacco. Both will stay, the council says, and the scales "
            "will be restored so that traders can use them on market days.",
            "Harbour master Ines Okafor said moving the stalls would free space on the North "
            "Quay for the visiting yachts expected now that the Saltings Basin lock has "
            "reopened, and for a new slipway that the rowing club has wanted for years.",
            "The last open-air market on the quay will be held on Christmas Eve. Traders "
            "are planning a farewell breakfast of grilled sprats for anyone who turns up "
            "before eight, and the harbour office will display photographs of the market "
            "from the 1920s onwards in the shed\u2019s entrance hall when it opens.",
        ),
    ),
)
ARTICLES_BY_SLUG = {article.slug: article for article in ARTICLES}

SUBSCRIBE_SLUG = "subscribe"
"""Not news: the subscription offer the demo policy's "Buy Now!" link points to."""

TIDES: tuple[tuple[str, str, str, str, str], ...] = (
    ("Mon", "05:12", "4.6 m", "17:38", "4.4 m"),
    ("Tue", "05:55", "4.8 m", "18:20", "4.6 m"),
    ("Wed", "06:37", "4.9 m", "19:01", "4.8 m"),
    ("Thu", "07:18", "5.0 m", "19:43", "4.9 m"),
    ("Fri", "08:01", "4.9 m", "20:27", "4.8 m"),
    ("Sat", "08:47", "4.7 m", "21:15", "4.6 m"),
    ("Sun", "09:38", "4.5 m", "22:09", "4.4 m"),
)

MOST_READ = (
    "saltings-lock-reopens",
    "fish-market-moves-indoors",
    "night-ferry-returns",
    "library-seed-exchange",
)

FORECAST = (
    "Bright spells and a fresh south-westerly breeze, easing by evening. Sea state "
    "moderate in the outer estuary. Highest 11\u00b0C, overnight low 6\u00b0C."
)

ARCHIVE: tuple[tuple[str, str], ...] = (
    (
        "1976",
        "The harbour board buys a second-hand dredger from Rotterdam. Renamed the "
        "Wenlow Maid, she keeps the channel open for the next twenty years.",
    ),
    (
        "1951",
        "The town\u2019s first television set goes on show in the window of an electrical "
        "shop on Mill Street, and a constable is sent to manage the crowd.",
    ),
    (
        "1926",
        "Record herring landings keep the quayside fish market open until midnight for "
        "the first time in its history.",
    ),
)

IN_BRIEF: tuple[tuple[str, str], ...] = (
    (
        "Lighthouse keeper\u2019s cottage for rent",
        "The harbour trust is looking for a tenant for the restored cottage at Gull Point, "
        "on the condition that they raise the storm flag when the coastguard asks.",
    ),
    (
        "Rowing club wins at Fowey",
        "The women\u2019s four took first place in the veterans\u2019 race at the autumn "
        "regatta, the club\u2019s first win away from home in nine years.",
    ),
    (
        "Parking on the North Quay",
        "Pay-and-display machines on the quay will take cards from Monday. Coins will still "
        "be accepted until the end of January.",
    ),
    (
        "Swans return to the millpond",
        "A pair of mute swans has nested on the millpond for the first time since the sluice "
        "was repaired. Walkers are asked to keep dogs on leads along the bank.",
    ),
)

WHATS_ON: tuple[tuple[str, str], ...] = (
    ("Thu 26 Nov", "Quiz night in aid of the Saltings Basin Trust, Anchor and Compass, 19:30"),
    ("Sat 28 Nov", "Christmas lights switch-on and lantern parade, Town Steps, 17:00"),
    ("Sun 29 Nov", "Guided walk along the Wenlow Cut towpath, meet at the lock, 10:30"),
    ("Wed 2 Dec", "Estuary Singers winter concert, St Petroc\u2019s church, 19:00"),
    ("Sun 6 Dec", "Open day at the Saltings Basin, 10:00 to 15:00, free entry"),
)

LETTERS: tuple[tuple[str, str], ...] = (
    (
        "Gwen Rowe, Chapel Hill",
        "I learned to swim in the Saltings Basin in 1979, before the dam went in. Seeing "
        "boats in there again made me cry on the quay. Thank you to every quiz team.",
    ),
    (
        "Peter Amiss, Callow Reach",
        "Could the ferry company please fix the clock at the Town Steps? It has said "
        "twenty past four since the summer, which is only useful twice a day.",
    ),
)

NOTICES: tuple[tuple[str, str], ...] = (
    (
        "Lifeboat station open day",
        "Crews show visitors round the new all-weather boat on Sunday from 11:00. "
        "Children\u2019s lifejacket fitting on the slipway.",
    ),
    (
        "Ropewalk Lane closed",
        "Water main repairs close the lane between the chapel and Mill Street until "
        "Friday. Pedestrian access to the shops stays open.",
    ),
    (
        "Estuary Singers need tenors",
        "The town choir rehearses on Wednesday evenings in the Seafarers\u2019 Hall and "
        "is short of tenors for its winter concert. No audition.",
    ),
    (
        "Beach clean at Gull Point",
        "Bags, gloves and litter pickers provided. Meet at the car park at 10:00 on "
        "Saturday; tea afterwards at the kiosk.",
    ),
)


# --------------------------------------------------------------------------- assets

SITE_CSS = """\
/* The Harbour Ledger: the demo site's own styles. */
:root {
  --ink: #1b1f24;
  --muted: #4a5360;
  --paper: #fdfcf8;
  --panel: #f1eee6;
  --rule: #d9d3c5;
  --navy: #12324a;
  --link: #0b4f8a;
  --link-visited: #5b2d82;
  --accent: #9c4618;
  --focus: #ffbf47;
  color-scheme: light;
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  background: var(--paper);
  color: var(--ink);
  font: 1.0625rem/1.6 Georgia, "Iowan Old Style", "Times New Roman", serif;
  overflow-wrap: break-word;
}
a { color: var(--link); text-underline-offset: 0.15em; }
a:visited { color: var(--link-visited); }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
img { max-width: 100%; height: auto; display: block; }
.wrap { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
.skip-link {
  position: absolute; left: 0.5rem; top: -3rem; z-index: 10;
  background: var(--focus); color: #000; padding: 0.5rem 0.75rem; font-weight: bold;
}
.skip-link:focus { top: 0.5rem; }
.site-header { background: var(--navy); color: #fff; }
.site-header .wrap { padding-top: 1rem; padding-bottom: 0.5rem; }
.masthead {
  margin: 0; font-size: clamp(1.6rem, 6vw, 2.6rem); line-height: 1.1;
  letter-spacing: 0.01em; font-weight: bold;
}
.masthead a, .masthead a:visited { color: #fff; text-decoration: none; }
.tagline { margin: 0.25rem 0 0.75rem; color: #d6e2ec; font-style: italic; }
.site-nav ul {
  display: flex; flex-wrap: wrap; gap: 0.25rem 1.25rem;
  margin: 0; padding: 0.5rem 0 0; list-style: none; border-top: 1px solid #3d5a72;
  font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
}
.site-nav a, .site-nav a:visited {
  display: inline-block; padding: 0.35rem 0; color: #fff; text-decoration: none;
}
.site-nav a:hover, .site-nav a[aria-current="page"] {
  text-decoration: underline; text-decoration-thickness: 3px;
  text-decoration-color: var(--focus);
}
.layout {
  display: grid; grid-template-columns: minmax(0, 1fr); gap: 2rem;
  padding-top: 1.5rem; padding-bottom: 2rem;
}
.layout > * { min-width: 0; }
@media (min-width: 56rem) {
  .layout { grid-template-columns: minmax(0, 1fr) 18rem; }
}
h1, h2, h3 { line-height: 1.2; margin: 0 0 0.5rem; }
h1 { font-size: clamp(1.7rem, 5vw, 2.5rem); }
h2 { font-size: 1.4rem; margin-top: 2rem; }
h3 { font-size: 1.1rem; }
.kicker {
  margin: 0 0 0.25rem; color: var(--accent); font-weight: bold; text-transform: uppercase;
  letter-spacing: 0.08em; font: bold 0.8rem/1.4 system-ui, -apple-system, sans-serif;
}
.meta {
  color: var(--muted); font: 0.9rem/1.5 system-ui, -apple-system, sans-serif;
  margin: 0 0 1.25rem;
}
.standfirst { font-size: 1.2rem; color: var(--muted); margin-top: 0; }
article p { max-width: 40rem; }
figure { margin: 1.5rem 0; max-width: 48rem; }
figcaption {
  color: var(--muted); font: 0.9rem/1.5 system-ui, -apple-system, sans-serif;
  padding: 0.5rem 0; border-bottom: 1px solid var(--rule);
}
.story-list { list-style: none; padding: 0; margin: 0; display: grid; gap: 1rem; }
@media (min-width: 40rem) {
  .story-list { grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); }
}
.story-list li {
  background: var(--panel); border-top: 4px solid var(--navy); padding: 0.75rem 1rem;
}
.story-list h3 { margin: 0.25rem 0; }
.story-list p { margin: 0.25rem 0; }
.sidebar section { background: var(--panel); padding: 1rem; margin-bottom: 1.5rem; }
.sidebar h2 { margin-top: 0; font-size: 1.15rem; }
.sidebar ul, .sidebar ol { padding-left: 1.1rem; margin: 0; }
.sidebar h3 { margin: 1rem 0 0; font-size: 1rem; }
.sidebar li + li { margin-top: 0.6rem; }
.sidebar p { margin: 0.5rem 0 0; }
.sidebar .letter-from { margin-top: 0.25rem; }
blockquote { margin: 0.75rem 0 0; padding-left: 0.75rem; border-left: 3px solid var(--rule); }
blockquote p { margin: 0; font-style: italic; }
table { border-collapse: collapse; width: 100%; font: 0.9rem/1.4 system-ui, sans-serif; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.25rem; }
th, td { text-align: left; padding: 0.3rem 0.4rem; border-bottom: 1px solid var(--rule); }
.small { font-size: 0.85rem; color: var(--muted); }
.cookie-table th[scope="row"] { font-family: ui-monospace, Menlo, Consolas, monospace; }
.table-scroll { overflow-x: auto; }
form.contact-form { display: grid; gap: 1rem; max-width: 36rem; }
label { display: block; font-weight: bold; margin-bottom: 0.25rem; }
input, select, textarea {
  width: 100%; font: inherit; padding: 0.5rem; color: var(--ink); background: #fff;
  border: 2px solid #6b7380; border-radius: 3px;
}
textarea { min-height: 8rem; resize: vertical; }
button {
  font: bold 1rem/1.2 system-ui, -apple-system, sans-serif; padding: 0.65rem 1.2rem;
  color: #fff; background: var(--navy); border: 2px solid var(--navy); border-radius: 3px;
  cursor: pointer; justify-self: start;
}
button:hover { background: #0b2233; }
.hint { font-weight: normal; color: var(--muted); font-size: 0.9rem; }
.status {
  border-left: 4px solid var(--accent); background: var(--panel); padding: 0.75rem 1rem;
}
address { font-style: normal; }
.site-footer {
  background: #e8e3d7; border-top: 4px solid var(--navy); padding: 1.5rem 0 2rem;
  font: 0.95rem/1.6 system-ui, -apple-system, "Segoe UI", sans-serif;
}
.footer-grid { display: grid; gap: 1.5rem; }
@media (min-width: 40rem) {
  .footer-grid { grid-template-columns: repeat(auto-fit, minmax(13rem, 1fr)); }
}
.site-footer h2 { font-size: 1rem; margin: 0 0 0.5rem; }
.site-footer ul { list-style: none; padding: 0; margin: 0; }
.site-footer p { margin: 0 0 0.5rem; }
.analytics-line {
  margin-top: 1.5rem; padding-top: 0.75rem; border-top: 1px solid #c9c1ae;
  font-size: 0.85rem; color: #3d4550;
}
#analytics-status.is-active { color: #1d5e20; font-weight: bold; }
"""

ANALYTICS_JS = """\
/* The Harbour Ledger: a stand-in for an analytics tag. It measures nothing and sends
   nothing; it only shows that it was allowed to run. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.dataset.analytics = "loaded";

  function mark() {
    var status = document.getElementById("analytics-status");
    if (status) {
      status.textContent = "Analytics: active";
      status.classList.add("is-active");
    }
    if (window.demoAnalyticsInline === true) {
      root.dataset.analyticsInline = "ran";
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mark);
  } else {
    mark();
  }
})();
"""

LOCK_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 450" width="800" height="450" \
role="img" aria-labelledby="lock-title">
  <title id="lock-title">Lock gates standing open as a small boat passes through</title>
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#9cc3dd"/>
      <stop offset="1" stop-color="#e6eff4"/>
    </linearGradient>
    <linearGradient id="water" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#3f7a96"/>
      <stop offset="1" stop-color="#1f4a63"/>
    </linearGradient>
  </defs>
  <rect width="800" height="450" fill="url(#sky)"/>
  <circle cx="660" cy="80" r="38" fill="#f6e7b0"/>
  <path d="M0 215 L120 170 L230 200 L330 160 L470 205 L590 175 L800 210 L800 250 L0 250Z" \
fill="#7d9a7a"/>
  <rect x="0" y="250" width="800" height="200" fill="url(#water)"/>
  <rect x="0" y="228" width="250" height="222" fill="#8c8272"/>
  <rect x="550" y="228" width="250" height="222" fill="#8c8272"/>
  <g stroke="#756b5c" stroke-width="2">
    <path d="M0 270 H250 M0 310 H250 M0 350 H250 M0 390 H250 M0 430 H250"/>
    <path d="M550 270 H800 M550 310 H800 M550 350 H800 M550 390 H800 M550 430 H800"/>
  </g>
  <g fill="#6b4a2b" stroke="#4a321c" stroke-width="3">
    <path d="M250 240 L330 300 L330 450 L250 450Z"/>
    <path d="M550 240 L470 300 L470 450 L550 450Z"/>
  </g>
  <g stroke="#4a321c" stroke-width="6" stroke-linecap="round">
    <path d="M250 236 L160 214"/>
    <path d="M550 236 L640 214"/>
  </g>
  <g>
    <path d="M340 330 L460 330 L445 365 L355 365Z" fill="#2f5d8a"/>
    <rect x="380" y="300" width="34" height="30" fill="#f2efe6"/>
    <rect x="386" y="306" width="10" height="10" fill="#9cc3dd"/>
    <path d="M397 300 V262" stroke="#3b3b3b" stroke-width="3"/>
    <path d="M399 266 L428 296 L399 296Z" fill="#d9573b"/>
  </g>
  <g stroke="#d6e6ef" stroke-width="3" fill="none" opacity="0.7">
    <path d="M340 380 q15 -6 30 0 t30 0 t30 0 t30 0"/>
    <path d="M60 410 q15 -6 30 0 t30 0"/>
    <path d="M620 400 q15 -6 30 0 t30 0 t30 0"/>
  </g>
</svg>
"""

FAVICON_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
  <rect width="32" height="32" rx="6" fill="#12324a"/>
  <path d="M7 22 q4.5 -4 9 0 t9 0" stroke="#fdfcf8" stroke-width="2.5" fill="none"/>
  <path d="M11 8 H21 V17 H11Z" fill="#ffbf47"/>
</svg>
"""


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _asset(text: str, media_type: str) -> Asset:
    body = text.encode("utf-8")
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:16] + '"')


ASSETS: dict[str, Asset] = {
    "site.css": _asset(SITE_CSS, "text/css"),
    "analytics.js": _asset(ANALYTICS_JS, "text/javascript"),
    "saltings-lock.svg": _asset(LOCK_SVG, "image/svg+xml"),
    "favicon.svg": _asset(FAVICON_SVG, "image/svg+xml"),
}


# --------------------------------------------------------------------------- rendering


def _paragraphs(paragraphs: Iterable[str]) -> str:
    return "\n".join(f"<p>{escape(text)}</p>" for text in paragraphs)


MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _time(day: date) -> str:
    """A date for people (not locale-dependent) with a machine-readable twin."""
    return f'<time datetime="{day.isoformat()}">{day.day} {MONTHS[day.month - 1]} {day.year}</time>'


def _story_list(articles: Iterable[Article], heading_level: int = 3) -> str:
    items = []
    for article in articles:
        items.append(
            "<li>"
            f'<p class="kicker">{escape(article.section)}</p>'
            f'<h{heading_level}><a href="{escape(article.url)}">{escape(article.title)}</a>'
            f"</h{heading_level}>"
            f"<p>{escape(article.summary)}</p>"
            f'<p class="small">{_time(article.published)}</p>'
            "</li>"
        )
    return '<ul class="story-list">\n' + "\n".join(items) + "\n</ul>"


def _sidebar() -> str:
    rows = "\n".join(
        f'<tr><th scope="row">{escape(day)}</th>'
        f'<td>{escape(am)} <span class="small">{escape(am_height)}</span></td>'
        f'<td>{escape(pm)} <span class="small">{escape(pm_height)}</span></td></tr>'
        for day, am, am_height, pm, pm_height in TIDES
    )
    notices = "\n".join(
        f"<li><strong>{escape(title)}.</strong> {escape(text)}</li>" for title, text in NOTICES
    )
    most_read = "\n".join(
        f'<li><a href="{escape(ARTICLES_BY_SLUG[slug].url)}">'
        f"{escape(ARTICLES_BY_SLUG[slug].title)}</a></li>"
        for slug in MOST_READ
    )
    in_brief = "\n".join(
        f"<li><strong>{escape(title)}.</strong> {escape(text)}</li>" for title, text in IN_BRIEF
    )
    whats_on = "\n".join(
        f"<li><strong>{escape(when)}:</strong> {escape(what)}</li>" for when, what in WHATS_ON
    )
    letters = "\n".join(
        f"<blockquote><p>{escape(text)}</p></blockquote>"
        f'<p class="small letter-from">{escape(who)}</p>'
        for who, text in LETTERS
    )
    archive = "\n".join(
        f"<li><strong>{escape(year)}:</strong> {escape(text)}</li>" for year, text in ARCHIVE
    )
    return f"""\
<aside class="sidebar" aria-label="Around the harbour">
<section aria-labelledby="most-read-heading">
<h2 id="most-read-heading">Most read this week</h2>
<ol>
{most_read}
</ol>
</section>
<section aria-labelledby="brief-heading">
<h2 id="brief-heading">In brief</h2>
<ul>
{in_brief}
</ul>
</section>
<section aria-labelledby="tides-heading">
<h2 id="tides-heading">High water this week</h2>
<div class="table-scroll">
<table>
<caption class="small">Time and height at Port Wenlow, local time. Illustrative \
figures.</caption>
<thead><tr><th scope="col">Day</th><th scope="col">Morning</th>\
<th scope="col">Evening</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</div>
<p class="small">The Saltings Basin lock opens two hours either side of high water.</p>
<h3>Estuary forecast</h3>
<p>{escape(FORECAST)}</p>
</section>
<section aria-labelledby="whats-on-heading">
<h2 id="whats-on-heading">What\u2019s on</h2>
<ul>
{whats_on}
</ul>
</section>
<section aria-labelledby="notices-heading">
<h2 id="notices-heading">Noticeboard</h2>
<ul>
{notices}
</ul>
</section>
<section aria-labelledby="letters-heading">
<h2 id="letters-heading">Letters</h2>
{letters}
<p class="small">Write to <a href="mailto:letters@harbourledger.example">\
letters@harbourledger.example</a>.</p>
</section>
<section aria-labelledby="archive-heading">
<h2 id="archive-heading">From the archive</h2>
<ul>
{archive}
</ul>
</section>
</aside>"""


NAV = (("/", "Home"), ("/privacy", "Privacy"), ("/contact", "Contact"))


def _page(title: str, body: str, *, path: str, description: str) -> str:
    current = ' aria-current="page"'
    nav = "\n".join(
        f'<li><a href="{href}"{current if href == path else ""}>{escape(label)}</a></li>'
        for href, label in NAV
    )
    full_title = SITE_NAME if not title else f"{title} \u2013 {SITE_NAME}"
    return f"""\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(full_title)}</title>
<meta name="description" content="{escape(description)}">
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/site.css">
<script data-consent="analytics" src="/assets/analytics.js"></script>
<script data-consent="analytics">window.demoAnalyticsInline = true;</script>
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site-header">
<div class="wrap">
<p class="masthead"><a href="/">{escape(SITE_NAME)}</a></p>
<p class="tagline">{escape(TAGLINE)}</p>
<nav class="site-nav" aria-label="Main">
<ul>
{nav}
</ul>
</nav>
</div>
</header>
<div class="wrap layout">
<main id="main" tabindex="-1">
{body}
</main>
{_sidebar()}
</div>
<footer class="site-footer">
<div class="wrap">
<div class="footer-grid">
<section aria-labelledby="footer-about">
<h2 id="footer-about">About the Ledger</h2>
<p>{escape(SITE_NAME)} is an imaginary weekly paper for an imaginary harbour town. It \
exists to show how gatekeeper handles consent, notices and country rules on a real-looking \
page. Every person, place and quotation on this site is invented.</p>
</section>
<section aria-labelledby="footer-standards">
<h2 id="footer-standards">Our standards</h2>
<p>We correct mistakes promptly and say so at the foot of the article. We do not pay for \
stories, and we name our sources unless doing so would put someone at risk. Complaints go \
to the editor, Morwenna Kettle, at the newsroom address.</p>
</section>
<section aria-labelledby="footer-contact">
<h2 id="footer-contact">Newsroom</h2>
<address>
{escape(SITE_NAME)}<br>
14 Quay Street<br>
Port Wenlow PW1 4QS<br>
<a href="mailto:newsdesk@harbourledger.example">newsdesk@harbourledger.example</a>
</address>
</section>
<section aria-labelledby="footer-links">
<h2 id="footer-links">This site</h2>
<ul>
<li><a href="/privacy">Privacy and cookies</a></li>
<li><a href="/contact">Contact the newsroom</a></li>
<li><a href="/articles/{SUBSCRIBE_SLUG}">Subscribe</a></li>
<li><a href="/api/articles">Articles as JSON</a></li>
</ul>
</section>
</div>
<p class="analytics-line"><span id="analytics-status">Analytics: inactive</span>
<span class="small">&middot; &copy; 2026 {escape(SITE_NAME)} (fictional)</span></p>
</div>
</footer>
</body>
</html>
"""


def _article_body(article: Article, *, heading: str = "h1") -> str:
    figure = ""
    if article is LEAD:
        figure = """
<figure>
<img src="/assets/saltings-lock.svg" width="800" height="450" alt="Drawing of two timber \
lock gates standing open between stone quay walls, with a small blue boat passing \
through on high water.">
<figcaption>The new oak gates at the Saltings Basin, open on Saturday for the first time \
since 1986. Illustration: Ledger graphics desk.</figcaption>
</figure>"""
    paragraphs = list(article.paragraphs)
    lead, rest = paragraphs[0], paragraphs[1:]
    return f"""\
<article aria-labelledby="article-title">
<p class="kicker">{escape(article.section)}</p>
<{heading} id="article-title">{escape(article.title)}</{heading}>
<p class="standfirst">{escape(article.summary)}</p>
<p class="meta">By {escape(article.byline)} &middot; {_time(article.published)}</p>
<p>{escape(lead)}</p>{figure}
{_paragraphs(rest)}
</article>"""


def _others(current: Article) -> list[Article]:
    return [article for article in ARTICLES if article is not current]


def render_home() -> str:
    body = f"""\
{_article_body(LEAD)}
<section aria-labelledby="more-heading">
<h2 id="more-heading">More from the Ledger</h2>
{_story_list(_others(LEAD))}
</section>"""
    return _page("", body, path="/", description=LEAD.summary)


def render_article(article: Article) -> str:
    body = f"""\
{_article_body(article)}
<section aria-labelledby="more-heading">
<h2 id="more-heading">Read next</h2>
{_story_list(_others(article))}
</section>"""
    return _page(article.title, body, path=article.url, description=article.summary)


def render_subscribe() -> str:
    body = f"""\
<article aria-labelledby="article-title">
<p class="kicker">Subscriptions</p>
<h1 id="article-title">Keep local reporting afloat</h1>
<p class="standfirst">The Ledger is paid for by its readers and a little advertising. A \
subscription keeps a reporter on the quay every week.</p>
<p>This is a demonstration site, so there is nothing to buy here. On a real paper this page \
would explain what a subscription costs, what it pays for and how to cancel it in one step. \
We mention it because the demo\u2019s notification bar links here, to show that a notice \
can point visitors anywhere on the site.</p>
<h2>What readers would get</h2>
<ul>
<li>The full weekly edition, online and in print, delivered before breakfast on Thursdays.</li>
<li>The tide tables, ferry times and lock opening hours for the whole season.</li>
<li>An invitation to the annual readers\u2019 evening at the Seafarers\u2019 Hall.</li>
</ul>
<h2>Where the money would go</h2>
<p>Most of it would pay for reporting: a harbour correspondent, a council reporter who \
sits through every planning meeting, and a photographer who knows which way the light \
falls on the North Quay at six in the morning. The rest would keep the presses and the \
website running.</p>
<h2>Prices we would charge</h2>
<div class="table-scroll">
<table>
<caption class="small">Illustrative only: nothing on this site is for sale.</caption>
<thead><tr><th scope="col">Option</th><th scope="col">What it includes</th>\
<th scope="col">Per month</th></tr></thead>
<tbody>
<tr><th scope="row">Online</th><td>Every story on the website and the weekly email</td>\
<td>\u00a34</td></tr>
<tr><th scope="row">Print and online</th><td>The paper delivered on Thursdays, plus \
everything online</td><td>\u00a39</td></tr>
<tr><th scope="row">Under 26</th><td>Everything online, free for students and \
apprentices</td><td>\u00a30</td></tr>
</tbody>
</table>
</div>
<h2>Cancelling</h2>
<p>A subscription that is hard to leave is not one worth having. Cancelling would take one \
click from your account page or one email to the readers\u2019 desk, and you would keep \
access until the end of the month you have paid for.</p>
<p>Questions about subscriptions go to the newsroom; see the <a href="/contact">contact \
page</a>.</p>
</article>
<section aria-labelledby="more-heading">
<h2 id="more-heading">Latest stories</h2>
{_story_list(ARTICLES)}
</section>"""
    return _page(
        "Subscribe",
        body,
        path=f"/articles/{SUBSCRIBE_SLUG}",
        description="Subscribing to The Harbour Ledger (a demonstration page).",
    )


def render_privacy(consent_path: str | None) -> str:
    withdraw = ""
    if consent_path:
        withdraw = f"""
<form method="post" action="{escape(consent_path)}">
<input type="hidden" name="action" value="withdraw">
<input type="hidden" name="next" value="/privacy">
<button type="submit">Withdraw my consent</button>
</form>"""
    body = f"""\
<article aria-labelledby="page-title">
<p class="kicker">Your data</p>
<h1 id="page-title">Privacy and cookies</h1>
<p class="standfirst">What this site stores in your browser, why, and how to change your \
mind.</p>
<p>We keep this short because there is not much to say. {escape(SITE_NAME)} has no \
accounts, no comments and no newsletter. The site uses two cookies: one to count visits, \
and one to remember whether you agreed to that.</p>
<h2>Who is responsible</h2>
<p>{escape(SITE_NAME)}, 14 Quay Street, Port Wenlow PW1 4QS, decides what happens to the \
little information this site collects. Our editor answers for it.</p>
<h2>The cookies</h2>
<div class="table-scroll">
<table class="cookie-table">
<caption>Cookies set on this site</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Purpose</th><th scope="col">Kind</th>\
<th scope="col">Kept for</th></tr></thead>
<tbody>
<tr><th scope="row">_ga</th><td>Tells our visitor statistics that two page views came \
from the same browser, so we can count readers rather than clicks. It holds a random \
number and the time of your first visit, nothing else.</td><td>Analytics, optional</td>\
<td>2 years</td></tr>
<tr><th scope="row">gk_consent</th><td>Remembers the choice you made in the cookie notice, \
so we do not ask again on every page. It is signed so that it cannot be altered.</td>\
<td>Strictly necessary</td><td>Up to 6 months, then we ask again</td></tr>
</tbody>
</table>
</div>
<h2>When the analytics cookie is used</h2>
<p>Our pages always try to set <code>_ga</code> and load a small analytics script. Where \
the law requires your permission first, including the EU, the UK and Switzerland, the \
cookie is removed before it reaches your browser and the script does not run until you \
choose \u201caccept\u201d. Elsewhere you may be told about it and can refuse it. If your \
browser sends a Global Privacy Control signal, we treat it as a refusal.</p>
<p>The cookie notice also asks about advertising. This demonstration site shows no \
advertising and sets no advertising cookies; the question is there to show how a site \
that does would ask.</p>
<h2>Record of your choice</h2>
<p>When you accept or refuse, we keep a record of the decision: what you chose, when, \
which version of this notice you saw, and a shortened form of your internet address that \
cannot identify a single device. We keep it so that we can show, if asked, that we \
respected your choice.</p>
<h2>Server logs</h2>
<p>Like every web server, ours notes each request: the page, the time, your internet \
address and the browser you use. We keep these logs for fourteen days to deal with faults \
and attacks, then delete them. We do not use them to count readers or to build profiles.</p>
<h2>Changing your mind</h2>
<p>You can change your choice at any time from the cookie notice, or by deleting the \
<code>gk_consent</code> cookie in your browser settings, which makes the site ask again. \
Withdrawing is as easy as agreeing:</p>{withdraw}
<h2>Your rights</h2>
<p>You may ask us for a copy of what we hold about you, ask us to correct or delete it, \
and object to how we use it. If you think we have handled your data badly, you may also \
complain to the data protection authority where you live.</p>
<h2>Questions</h2>
<p>Write to the newsroom at the address on our <a href="/contact">contact page</a>. We \
answer questions about personal data within a month.</p>
</article>"""
    return _page(
        "Privacy and cookies",
        body,
        path="/privacy",
        description="The cookies The Harbour Ledger uses and how to change your choice.",
    )


TOPICS = (
    ("news", "A news tip"),
    ("correction", "A correction"),
    ("letter", "A letter for publication"),
    ("subscription", "My subscription"),
    ("privacy", "Privacy and my data"),
)
_CONTACT_FIELDS = ("name", "email", "topic", "message")


def render_contact(sent: bool) -> str:
    options = "\n".join(
        f'<option value="{value}">{escape(label)}</option>' for value, label in TOPICS
    )
    status = ""
    if sent:
        status = """
<p class="status" role="status">Thank you. This is a demonstration site, so your message \
was neither sent nor stored.</p>"""
    body = f"""\
<article aria-labelledby="page-title">
<p class="kicker">Get in touch</p>
<h1 id="page-title">Contact the newsroom</h1>
<p class="standfirst">Tips, corrections, letters and complaints all reach the same small \
team. We read everything, though we cannot reply to it all.</p>
<p>If something is happening on the harbour right now, the fastest way to reach us is the \
news desk telephone, which is answered from seven in the morning until ten at night. For \
anything else, use the form below or write to us.</p>{status}
<h2>Send us a message</h2>
<form class="contact-form" method="get" action="/contact">
<div>
<label for="contact-name">Your name</label>
<input id="contact-name" name="name" type="text" autocomplete="name" required>
</div>
<div>
<label for="contact-email">Email address <span class="hint">(so we can reply)</span>\
</label>
<input id="contact-email" name="email" type="email" autocomplete="email" required>
</div>
<div>
<label for="contact-topic">What is it about?</label>
<select id="contact-topic" name="topic">
{options}
</select>
</div>
<div>
<label for="contact-message">Your message</label>
<textarea id="contact-message" name="message" rows="6" required></textarea>
</div>
<button type="submit">Send message</button>
</form>
<h2>Desks</h2>
<ul>
<li><strong>News tips:</strong> <a href="mailto:newsdesk@harbourledger.example">\
newsdesk@harbourledger.example</a>, or call the news desk.</li>
<li><strong>Letters to the editor:</strong> <a href="mailto:letters@harbourledger.example">\
letters@harbourledger.example</a>. Under 300 words, please.</li>
<li><strong>Pictures:</strong> send photographs of the estuary to \
<a href="mailto:pictures@harbourledger.example">pictures@harbourledger.example</a> and tell \
us who took them.</li>
<li><strong>Subscriptions and deliveries:</strong> \
<a href="mailto:readers@harbourledger.example">readers@harbourledger.example</a>.</li>
<li><strong>Advertising:</strong> <a href="mailto:adverts@harbourledger.example">\
adverts@harbourledger.example</a>.</li>
<li><strong>Privacy and your data:</strong> \
<a href="mailto:privacy@harbourledger.example">privacy@harbourledger.example</a>; see also \
our <a href="/privacy">privacy page</a>.</li>
</ul>
<h2>Visit or write</h2>
<address>
{escape(SITE_NAME)}<br>
The Old Net Loft, 14 Quay Street<br>
Port Wenlow<br>
PW1 4QS<br>
News desk: <a href="tel:+442079460123">020 7946 0123</a><br>
Email: <a href="mailto:newsdesk@harbourledger.example">newsdesk@harbourledger.example</a>
</address>
<p>The front office is open from nine until five on weekdays. Letters for publication \
should include your name and the part of town you live in; we may shorten them.</p>
<p>The Old Net Loft stands at the harbour end of Quay Street, above the chandlery and \
opposite the Saltings Basin lock. The nearest bus stop is Town Steps, and the ferry from \
Callow Reach lands two minutes\u2019 walk away. There is a lift to the first floor; ask at \
the chandlery counter and someone will come down.</p>
<h2>Corrections</h2>
<p>If we have got something wrong, tell us which article and what the error is. We \
correct mistakes in the article itself and note the change at the end, with the date.</p>
</article>"""
    return _page(
        "Contact",
        body,
        path="/contact",
        description="How to reach the newsroom of The Harbour Ledger.",
    )


def render_not_found() -> str:
    body = f"""\
<article aria-labelledby="page-title">
<p class="kicker">Error 404</p>
<h1 id="page-title">We could not find that page</h1>
<p class="standfirst">The page may have moved, or the address may be mistyped.</p>
<p>Try the <a href="/">front page</a>, or one of our latest stories:</p>
{_story_list(ARTICLES, heading_level=2)}
</article>"""
    return _page("Page not found", body, path="", description="Page not found.")


# --------------------------------------------------------------------------- responses


def _analytics_cookie_value(request: Request) -> str:
    current = request.cookies.get(ANALYTICS_COOKIE, "")
    if _GA_VALUE.fullmatch(current):
        return current  # keep the visitor's id, refresh the expiry (as the real tag does)
    return f"GA1.1.{secrets.randbelow(900_000_000) + 100_000_000}.{int(time.time())}"


def _html(request: Request, content: str, status_code: int = 200) -> HTMLResponse:
    response = HTMLResponse(content, status_code=status_code)
    response.set_cookie(
        ANALYTICS_COOKIE,
        _analytics_cookie_value(request),
        max_age=ANALYTICS_MAX_AGE,
        path="/",
        samesite="lax",
    )
    return response


def create_app(*, consent_path: str | None = DEFAULT_CONSENT_PATH) -> Starlette:
    """The demo news site.

    `consent_path` is where the privacy page's "withdraw" form posts (gatekeeper's
    consent endpoint); None leaves the form out.
    """
    # The pages do not change between requests: render them once.
    home_page = render_home()
    article_pages = {article.slug: render_article(article) for article in ARTICLES}
    article_pages[SUBSCRIBE_SLUG] = render_subscribe()
    privacy_page = render_privacy(consent_path)
    contact_pages = {sent: render_contact(sent) for sent in (False, True)}
    not_found_page = render_not_found()

    async def home(request: Request) -> Response:
        return _html(request, home_page)

    async def article(request: Request) -> Response:
        page = article_pages.get(request.path_params["slug"])
        if page is None:
            raise HTTPException(404)
        return _html(request, page)

    async def privacy(request: Request) -> Response:
        return _html(request, privacy_page)

    async def contact(request: Request) -> Response:
        sent = any(request.query_params.get(name) for name in _CONTACT_FIELDS)
        return _html(request, contact_pages[sent])

    async def api_articles(request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "slug": item.slug,
                    "title": item.title,
                    "summary": item.summary,
                    "published": item.published.isoformat(),
                    "url": item.url,
                }
                for item in ARTICLES
            ]
        )

    async def asset(request: Request) -> Response:
        found = ASSETS.get(request.path_params["name"])
        if found is None:
            raise HTTPException(404)
        headers = {
            "Cache-Control": ASSET_CACHE_CONTROL,
            "ETag": found.etag,
            "X-Content-Type-Options": "nosniff",
        }
        if found.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return _html(request, not_found_page, status_code=404)

    return Starlette(
        routes=[
            Route("/", home),
            Route("/articles/{slug}", article),
            Route("/privacy", privacy),
            Route("/contact", contact),
            Route("/api/articles", api_articles),
            Route("/assets/{name}", asset),
        ],
        exception_handlers={404: not_found},
    )
