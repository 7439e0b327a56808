/* gatekeeper: progressive enhancement of server-rendered notices. Every notice works
   without this file (plain forms posting to the server); with it, choices apply without a
   reload. No framework, no build step. */
(() => {
  "use strict";
  const me = document.currentScript;
  if (!me) return;
  const nonce = me.nonce;
  const all = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const one = (selector, root = document) => root.querySelector(selector);
  const gtag = window.gtag || function () { (window.dataLayer = window.dataLayer || []).push(arguments); };

  // Elements of refused categories were sent inert (see "Script gating" in
  // docs/developers.md); bring back those the visitor now allows, exactly as they were.
  const XLINK = "http://www.w3.org/1999/xlink";
  // srcset before src, so an image fetches once, from the candidate it will show.
  const GATED = ["srcset", "imagesrcset", "src", "srcdoc", "data", "href", "poster", "xlink-href"];
  const restore = (from, to, name) => {
    const value = from.getAttribute("data-gk-" + name);
    if (name === "xlink-href") to.setAttributeNS(XLINK, "xlink:href", value);
    else to.setAttribute(name, value);
  };
  // "755:1,3,4", as the server reads a vendor tag
  const tcfKey = (el) => (el.dataset.tcfVendor || "").trim() + ":" +
    (el.dataset.tcfPurposes || "").split(",").map((p) => p.trim()).filter(Boolean).join(",");
  const activate = (categories, tcData, tags) => {
    const tcfAllows = (el) => {
      if (el.dataset.tcfVendor === undefined && el.dataset.tcfPurposes === undefined) return true;
      if (tags) return Boolean(tags[tcfKey(el)]);
      if (!tcData) return false;
      if (tcData.gdprApplies === false) return true;
      const [vendor, purposes] = tcfKey(el).split(":");
      const consents = (tcData.vendor && tcData.vendor.consents) || {};
      const granted = (tcData.purpose && tcData.purpose.consents) || {};
      return Boolean(consents[vendor]) && purposes.split(",").filter(Boolean).every((p) => granted[p]);
    };
    const marked = all("[data-consent], [data-tcf-vendor], [data-tcf-purposes]");
    if (!tcData && !tags && typeof window.__tcfapi === "function" && marked.some((el) => el.hasAttribute("data-tcf-vendor"))) {
      window.__tcfapi("addEventListener", 2, (data, ok) => {
        if (!ok || !data || data.eventStatus === "cmpuistate") return;
        if (data.listenerId !== undefined) window.__tcfapi("removeEventListener", 2, () => {}, data.listenerId);
        activate(categories, data);
      });
    }
    const media = new Set();
    for (const el of marked) {
      const wanted = (el.getAttribute("data-consent") || "").split(/\s+/).filter(Boolean);
      if (!wanted.every((c) => categories[c]) || !tcfAllows(el)) continue;
      const held = GATED.filter((name) => el.hasAttribute("data-gk-" + name));
      if (el.localName === "script") {
        if ((el.getAttribute("type") || "").trim().toLowerCase() !== "text/plain") continue;
        // A script runs only when inserted: rebuild it with its own attributes and text.
        const live = document.createElementNS(el.namespaceURI, "script");
        for (const { name, value } of Array.from(el.attributes)) {
          if (name !== "type" && !name.startsWith("data-gk-")) live.setAttribute(name, value);
        }
        if (el.hasAttribute("data-gk-type")) live.setAttribute("type", el.getAttribute("data-gk-type"));
        live.nonce = el.nonce || nonce;
        for (const name of held) restore(el, live, name);
        live.textContent = el.textContent;
        el.replaceWith(live);
        continue;
      }
      if (!held.length) continue;
      for (const name of held) {
        restore(el, el, name);
        el.removeAttribute("data-gk-" + name);
      }
      const parent = el.parentElement;
      if ((el.localName === "source" || el.localName === "track") && parent && typeof parent.load === "function") media.add(parent);
    }
    // A media element chooses among its <source> children only when (re)loaded.
    for (const el of media) el.load();
  };

  let returnFocus = null;
  const focusInto = (element) => {
    returnFocus = document.activeElement;
    element.focus();
  };
  // A notice that opens later does not take the focus from the consent choices.
  const deciding = () => document.activeElement.closest('[data-gk-notice="consent"], dialog[open]');
  const restoreFocus = (fallback) => {
    const target = returnFocus && returnFocus !== document.body && returnFocus.isConnected ? returnFocus : fallback;
    if (target) target.focus();
    returnFocus = null;
  };

  const dialog = one(".gk-dialog");
  const reopen = one("[data-gk-reopen]");
  const handlers = {
    // A decision, on the first layer or in the dialog: the first layer goes, the way back
    // to the choices shows, and the dialog's switches follow the new state.
    consent(form, state) {
      const categories = state.categories || {};
      one('[data-gk-notice="consent"]')?.remove();
      if (reopen) reopen.parentElement.hidden = false;
      for (const box of all('input[name="categories"]')) box.checked = Boolean(categories[box.value]);
      if (dialog && dialog.open) dialog.close();
      // __tcfapi first: the tags it allows may ask it
      if (state.tcf) document.dispatchEvent(new CustomEvent("gk:tcf", { detail: state.tcf }));
      activate(categories, null, state.tcf_tags);
      if (state.consent_mode) gtag("consent", "update", state.consent_mode);
      document.dispatchEvent(new CustomEvent("gatekeeper:consent", { detail: state }));
      restoreFocus(reopen);
    },
    dismiss(form) {
      const note = form.closest(".gk-note");
      const bar = note.closest("[data-gk-notice]");
      note.remove();
      if (!one(".gk-note", bar)) bar.remove();
      restoreFocus(one("main, h1"));
    },
    adblock(form) {
      closeAdblock(form.closest("[data-gk-notice]"));
    },
  };

  handlers.tcf = handlers.consent;

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    const handler = handlers[form.dataset.gkForm];
    if (!handler) return;
    event.preventDefault();
    const body = new URLSearchParams(new FormData(form, event.submitter));
    if (form.dataset.gkForm === "tcf") {
      for (const key of new Set(all("[data-tcf-vendor]").map(tcfKey))) body.append("tcf_tag", key);
    }
    try {
      const response = await fetch(form.getAttribute("action"), {
        method: "POST",
        body,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(String(response.status));
      handler(form, await response.json());
    } catch (error) {
      // The JSON path failed: fall back to the plain form post the server also answers.
      const fallback = document.createElement("form");
      fallback.method = "post";
      fallback.action = form.getAttribute("action");
      for (const [name, value] of body) {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = value;
        fallback.append(input);
      }
      document.body.append(fallback);
      fallback.submit();
    }
  });

  // Customise opens the second layer in place, and "Privacy choices" the preferences
  // dialog, instead of the preferences page.
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-gk-customise]");
    const layer = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (layer) {
      event.preventDefault();
      layer.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
      one("input:not([disabled])", layer)?.focus();
    } else if (dialog && event.target.closest("[data-gk-reopen]")) {
      event.preventDefault();
      returnFocus = document.activeElement;
      dialog.showModal();
      one("[name=categories]:not([disabled])", dialog)?.focus();
    }
  });
  if (dialog) {
    // Escape closes it (the browser's own); Tab goes round inside it; focus goes back.
    dialog.addEventListener("close", () => restoreFocus(reopen));
    dialog.addEventListener("keydown", (event) => {
      const stops = all("a[href], button, [name=categories]:not([disabled]), summary", dialog);
      const edge = event.shiftKey ? stops[0] : stops[stops.length - 1];
      if (event.key === "Tab" && document.activeElement === edge) {
        event.preventDefault();
        (event.shiftKey ? stops[stops.length - 1] : stops[0]).focus();
      }
    });
  }

  // Offline notice: follows the browser's connection state.
  const offline = one('[data-gk-notice="offline"] .gk-offline');
  if (offline) {
    const update = () => { offline.hidden = navigator.onLine; };
    addEventListener("online", update);
    addEventListener("offline", update);
    update();
  }

  // First visit: move keyboard focus into the consent banner so it is dealt with first,
  // before any other notice.
  const banner = one('[data-gk-notice="consent"] [tabindex="-1"]');
  if (banner && document.activeElement === document.body) focusInto(banner);

  // Adblock: the notice ships hidden, or shown by the server when this browser was judged
  // blocked before. The check loads the script bait, looks at the cosmetic bait after
  // 600 ms and reports both; the server, which saw which baits reached it, answers.
  // A wall makes the page behind it inert; the dock it is in, with the consent banner and
  // the way back to the choices, stays usable.
  const wallSiblings = [];
  const openAdblock = (notice) => {
    notice.hidden = false;
    if (notice.classList.contains("gk-wall")) {
      for (const el of document.body.children) {
        if (el !== notice.parentElement && !el.inert) { el.inert = true; wallSiblings.push(el); }
      }
    }
    if (!deciding()) focusInto(one("[tabindex='-1']", notice) || notice);
  };
  const closeAdblock = (notice) => {
    notice.hidden = true;
    for (const el of wallSiblings.splice(0)) el.inert = false;
    if (!deciding()) restoreFocus(one("main, h1"));
  };

  const adblock = one('[data-gk-notice="adblock"]');
  const bait = one("[data-gk-bait]");
  // script: true loaded, false failed, null not settled in 3 s (a slow network, not a
  // blocker); proof: what the real bait leaves on its element (a blocker's stub leaves none).
  const probe = () => new Promise((resolve) => {
    const script = document.createElement("script");
    const done = (loaded) => {
      clearTimeout(timer);
      script.remove();
      resolve({ script: loaded, proof: script.getAttribute("data-gk-proof") });
    };
    const timer = setTimeout(done, 3000, null);
    script.onload = () => done(true);
    script.onerror = () => done(false);
    if (nonce) script.nonce = nonce;
    script.src = adblock.dataset.script + "&r=" + Date.now();
    document.head.append(script);
  });
  const image = () => {
    const img = one("img.gk-bait");
    return Boolean(img && img.complete && img.naturalWidth > 0);
  };
  let receipt = null;
  const shown = () => {
    if (!bait || !bait.isConnected || !bait.offsetHeight) return false;
    const style = getComputedStyle(bait);
    return style.display !== "none" && style.visibility !== "hidden";
  };
  const report = async () => {
    const [{ script, proof }] = await Promise.all([
      probe(), new Promise((wait) => setTimeout(wait, 600)),
    ]);
    try {
      const response = await fetch(adblock.dataset.beacon, {
        method: "POST", credentials: "same-origin",
        body: JSON.stringify({
          token: adblock.dataset.token, script, cosmetic: shown(), image: image(), proof, receipt,
        }),
        headers: { "Content-Type": "application/json", Accept: "application/json" },
      });
      if (!response.ok) return null;
      const answer = await response.json();
      receipt = answer.receipt || receipt;
      return answer.verdict;
    } catch (error) {
      return null;
    }
  };
  let checking = false;
  const detect = async () => {
    if (checking) return;
    checking = true;
    adblock.setAttribute("aria-busy", "true");
    const verdict = await report();
    checking = false;
    adblock.removeAttribute("aria-busy");
    document.documentElement.dataset.gkAdblock = verdict || "unknown";
    if (verdict === "blocked") {
      if (adblock.hidden && !("gkQuiet" in adblock.dataset)) openAdblock(adblock);
    } else if (verdict === "allowed" && !adblock.hidden) {
      closeAdblock(adblock);
    }
  };
  if (adblock) {
    one("[data-gk-recheck]", adblock)?.addEventListener("click", detect);
    if (!adblock.hidden && adblock.classList.contains("gk-wall")) openAdblock(adblock);
    if (document.readyState === "complete") detect();
    else addEventListener("load", detect);
  }

})();
