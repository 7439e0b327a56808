"""Page views end to end, as browsers make them: exact counts of every verdict."""

from __future__ import annotations

BLOCKED = {"script": False, "cosmetic": False}  # a blocker on the network and the element
STUB = {"script": True, "cosmetic": True}  # a blocker answering the bait with a stub
SEEN = {"script": True, "cosmetic": True}


async def test_each_kind_of_view_is_counted_once(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        for _ in range(3):  # a blocker: no bait reaches us, the element is hidden
            answer = await site.view(image=False, script=False, report=BLOCKED)
            assert answer.json()["verdict"] == "blocked"
        stub = await site.view(image=True, script=False, report=STUB)
        assert stub.json()["verdict"] == "blocked"
        for _ in range(2):  # no blocker
            answer = await site.view(image=True, script=True, report=SEEN)
            assert answer.json()["verdict"] == "allowed"
        for _ in range(4):  # no JavaScript: the image, nothing else
            assert await site.view(image=True, script=False, report=None) is None
        await site.page()  # left before anything loaded
        assert await site.verdicts() == {"blocked": 4, "allowed": 2, "no_js": 4, "unknown": 1}


async def test_check_again_moves_the_view_instead_of_adding_one(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        _, token = await site.page("/")
        first = await site.beacon({"token": token, **BLOCKED})
        assert first.json()["verdict"] == "blocked"
        assert await site.verdicts() == {"blocked": 1, "allowed": 0, "no_js": 0, "unknown": 0}
        # The visitor pauses the blocker and presses "check again": the page loads the
        # bait again and reports with the receipt of its first report.
        proof = await site.proof(token)
        again = await site.beacon(
            {"token": token, **SEEN, "proof": proof, "receipt": first.json()["receipt"]}
        )
        assert again.json()["verdict"] == "allowed"
        assert await site.verdicts() == {"blocked": 0, "allowed": 1, "no_js": 0, "unknown": 0}


async def test_a_page_flood_leaves_the_verdicts_alone(adblock_policy, site_for) -> None:
    # Stateless counting: no table of open views a flood could push real ones out of.
    async with site_for(adblock_policy()) as site:
        for _ in range(5):
            await site.view(image=True, script=True, report=SEEN)
        for _ in range(5):
            await site.view(image=False, script=False, report=BLOCKED)
        tokens = [(await site.page("/", peer="198.51.100.66"))[1] for _ in range(2000)]
        assert len(set(tokens)) == 2000
        counted = await site.verdicts()
        assert (counted["allowed"], counted["blocked"]) == (5, 5)
        assert counted["unknown"] == 2000  # the flood shows as views nobody reported
