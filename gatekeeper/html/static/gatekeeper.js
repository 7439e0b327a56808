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

  // Scripts, frames and images of allowed categories were sent inert; bring them to life.
  const activate = (categories) => {
    for (const el of all("[data-consent]")) {
      if (!categories[el.dataset.consent]) continue;
      if (el.tagName === "SCRIPT" && el.type === "text/plain") {
        const live = document.createElement("script");
        for (const { name, value } of el.attributes) {
          if (name !== "type" && name !== "data-gk-src" && name !== "data-gk-type") live.setAttribute(name, value);
        }
        if (el.dataset.gkType) live.type = el.dataset.gkType;
        live.nonce = el.nonce || nonce;
        if (el.dataset.gkSrc) live.src = el.dataset.gkSrc;
        else live.text = el.text;
        el.replaceWith(live);
      } else if (el.dataset.gkSrc) {
        el.src = el.dataset.gkSrc;
        delete el.dataset.gkSrc;
      }
    }
  };

  let returnFocus = null;
  const focusInto = (element) => {
    returnFocus = document.activeElement;
    element.focus();
  };
  const restoreFocus = (fallback) => {
    const target = returnFocus && returnFocus !== document.body && returnFocus.isConnected ? returnFocus : fallback;
    if (target) target.focus();
    returnFocus = null;
  };

  const handlers = {
    consent(form, state) {
      const notice = form.closest("[data-gk-notice]");
      const reopen = one(".gk-reopen", notice);
      if (reopen) {
        reopen.hidden = false;
        document.body.append(reopen);
      }
      notice.remove();
      activate(state.categories || {});
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

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    const handler = handlers[form.dataset.gkForm];
    if (!handler) return;
    event.preventDefault();
    const body = new URLSearchParams(new FormData(form, event.submitter));
    try {
      const response = await fetch(form.action, {
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
      fallback.action = form.action;
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

  // Customise opens the second layer in place instead of the preferences page.
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-gk-customise]");
    if (!toggle) return;
    const layer = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!layer) return;
    event.preventDefault();
    layer.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    one("input:not([disabled])", layer)?.focus();
  });

  // Offline notice: follows the browser's connection state.
  const offline = one('[data-gk-notice="offline"] .gk-offline');
  if (offline) {
    const update = () => { offline.hidden = navigator.onLine; };
    addEventListener("online", update);
    addEventListener("offline", update);
    update();
  }

  // Adblock: the notice ships hidden; the check below reveals it when baits were blocked.
  const wallSiblings = [];
  const openAdblock = (notice) => {
    notice.hidden = false;
    if (notice.classList.contains("gk-wall")) {
      document.documentElement.classList.add("gk-walled");
      for (const el of document.body.children) {
        if (el !== notice && !el.inert) { el.inert = true; wallSiblings.push(el); }
      }
    }
    focusInto(one("[tabindex='-1']", notice) || notice);
  };
  const closeAdblock = (notice) => {
    notice.hidden = true;
    document.documentElement.classList.remove("gk-walled");
    for (const el of wallSiblings.splice(0)) el.inert = false;
    restoreFocus(one("main, h1"));
  };

  const adblock = one('[data-gk-notice="adblock"]');
  const bait = one("[data-gk-bait]");
  const check = () => new Promise((resolve) => {
    const probe = document.createElement("script");
    probe.src = adblock.dataset.script + (adblock.dataset.script.includes("?") ? "&" : "?") + "r=" + Date.now();
    probe.async = true;
    if (nonce) probe.nonce = nonce;
    let scriptLoaded = false;
    probe.onload = () => { scriptLoaded = true; };
    probe.onerror = () => { scriptLoaded = false; };
    document.head.append(probe);
    setTimeout(() => {
      probe.remove();
      const style = bait ? getComputedStyle(bait) : null;
      const hidden = !bait || !bait.isConnected || bait.offsetHeight === 0 || style.display === "none" || style.visibility === "hidden";
      resolve({ script: scriptLoaded, cosmetic: !hidden });
    }, 600);
  });
  const report = async (result) => {
    const payload = JSON.stringify({ token: adblock.dataset.token, script: result.script, cosmetic: result.cosmetic });
    try {
      const response = await fetch(adblock.dataset.beacon, {
        method: "POST", body: payload, headers: { "Content-Type": "application/json", Accept: "application/json" },
        credentials: "same-origin", keepalive: true,
      });
      return response.ok ? (await response.json()).verdict : null;
    } catch (error) {
      return null;
    }
  };
  const detect = async () => {
    const verdict = await report(await check());
    if (verdict === "blocked") {
      if (adblock.hidden) openAdblock(adblock);
      document.documentElement.dataset.gkAdblock = "blocked";
    } else {
      if (!adblock.hidden) closeAdblock(adblock);
      document.documentElement.dataset.gkAdblock = verdict || "unknown";
    }
  };
  if (adblock) {
    const recheck = one("[data-gk-recheck]", adblock);
    if (recheck) recheck.addEventListener("click", detect);
    if (document.readyState === "complete") detect();
    else addEventListener("load", detect);
  }

  // First visit: move keyboard focus into the consent banner so it is dealt with first.
  const banner = one('[data-gk-notice="consent"] [tabindex="-1"]');
  if (banner && document.activeElement === document.body) focusInto(banner);
})();
