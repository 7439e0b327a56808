/* gatekeeper's CMP API for the page: __tcfapi (IAB TCF CMP API v2) and __gpp (IAB GPP
   CMP API 1.1), with the __tcfapiLocator / __gppLocator frames that let cross-origin
   iframes call them by postMessage. Loaded only where TCF is on. It reads the state the
   server wrote into <script type="application/json" id="gk-tcf-state"> (see
   gatekeeper/tcf/page.py) and decodes the TC string itself. Until that element is in
   the page, calls are queued, as the IAB stub does. */
(function (w, d) {
  'use strict';
  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  var state = null, tc = null, parsed = null, queue = [], gppQueue = [];
  var tcfListeners = {}, tcfNext = 0, gppListeners = {}, gppNext = 1000;

  function bits(s) {
    var out = '';
    for (var i = 0; i < s.length; i++) {
      var v = B64.indexOf(s.charAt(i));
      if (v < 0) throw new Error('bad base64url');
      out += ('00000' + v.toString(2)).slice(-6);
    }
    var pos = 0;
    function int(n) {
      if (pos + n > out.length) throw new Error('short string');
      var v = n ? parseInt(out.substr(pos, n), 2) : 0;
      pos += n;
      return v;
    }
    return {
      int: int,
      bool: function () { return int(1) === 1; },
      flags: function (n) { var a = []; for (var i = 0; i < n; i++) a.push(int(1) === 1); return a; },
      letters: function () { return String.fromCharCode(65 + int(6), 65 + int(6)); }
    };
  }
  function ids(flags) { var a = []; flags.forEach(function (f, i) { if (f) a.push(i + 1); }); return a; }
  function ranges(r) {
    var a = [], n = r.int(12);
    for (var i = 0; i < n; i++) {
      var isRange = r.bool(), start = r.int(16), end = isRange ? r.int(16) : start;
      for (var v = start; v <= end; v++) a.push(v);
    }
    return a;
  }
  function vendors(r) {
    var max = r.int(16);
    return r.bool() ? ranges(r) : ids(r.flags(max));
  }
  // The TC string's fields ("Consent string and vendor list formats v2", TC String Format).
  function decodeTC(s) {
    var segs = s.split('.'), r = bits(segs[0]), t = {};
    t.version = r.int(6);
    t.created = new Date(r.int(36) * 100);
    t.lastUpdated = new Date(r.int(36) * 100);
    t.cmpId = r.int(12); t.cmpVersion = r.int(12); t.consentScreen = r.int(6);
    t.consentLanguage = r.letters(); t.vendorListVersion = r.int(12); t.policyVersion = r.int(6);
    t.isServiceSpecific = r.bool(); t.useNonStandardTexts = r.bool();
    t.specialFeatures = r.flags(12); t.purposeConsents = r.flags(24); t.purposeLI = r.flags(24);
    t.purposeOneTreatment = r.bool(); t.publisherCC = r.letters();
    t.vendorConsents = vendors(r); t.vendorLI = vendors(r);
    t.restrictions = [];
    for (var n = r.int(12); n > 0; n--) t.restrictions.push({key: r.int(6), type: r.int(2), ids: ranges(r)});
    t.disclosed = []; t.pubConsents = t.pubLI = t.customConsents = t.customLI = null;
    for (var i = 1; i < segs.length; i++) {
      var seg = bits(segs[i]), type = seg.int(3);
      if (type === 1) t.disclosed = vendors(seg);
      if (type === 3) {
        t.pubConsents = seg.flags(24); t.pubLI = seg.flags(24);
        var count = seg.int(6);
        t.customConsents = seg.flags(count); t.customLI = seg.flags(count);
      }
    }
    return t;
  }
  // usnat v2 ("MSPA US National Section"): 2-bit fields, then an optional GPC sub-section.
  var USNAT = ['SharingNotice', 'SaleOptOutNotice', 'SharingOptOutNotice',
    'TargetedAdvertisingOptOutNotice', 'SensitiveDataProcessingOptOutNotice',
    'SensitiveDataLimitUseNotice', 'SaleOptOut', 'SharingOptOut', 'TargetedAdvertisingOptOut'];
  function decodeUsNat(s) {
    var segs = s.split('.'), r = bits(segs[0]), o = {Version: r.int(6)}, v1 = o.Version === 1, i;
    USNAT.forEach(function (k) { o[k] = r.int(2); });
    o.SensitiveDataProcessing = []; for (i = 0; i < (v1 ? 12 : 16); i++) o.SensitiveDataProcessing.push(r.int(2));
    o.KnownChildSensitiveDataConsents = []; for (i = 0; i < (v1 ? 2 : 3); i++) o.KnownChildSensitiveDataConsents.push(r.int(2));
    o.PersonalDataConsents = r.int(2); o.MspaCoveredTransaction = r.int(2);
    o.MspaOptOutOptionMode = r.int(2); o.MspaServiceProviderMode = r.int(2);
    o.GpcSegmentType = 1; o.Gpc = false;
    if (segs[1]) { var g = bits(segs[1]); o.GpcSegmentType = g.int(2); o.Gpc = g.bool(); }
    return o;
  }
  function upTo(flags) { return flags ? flags.concat([]) : []; }
  function tcfeuv2(t) {
    var zero = []; for (var i = 0; i < 24; i++) zero.push(false);
    return {
      Version: t.version, Created: t.created, LastUpdated: t.lastUpdated, CmpId: t.cmpId,
      CmpVersion: t.cmpVersion, ConsentScreen: t.consentScreen, ConsentLanguage: t.consentLanguage,
      VendorListVersion: t.vendorListVersion, PolicyVersion: t.policyVersion,
      IsServiceSpecific: t.isServiceSpecific, UseNonStandardStacks: t.useNonStandardTexts,
      SpecialFeatureOptins: upTo(t.specialFeatures), PurposeConsents: upTo(t.purposeConsents),
      PurposeLegitimateInterests: upTo(t.purposeLI), PurposeOneTreatment: t.purposeOneTreatment,
      PublisherCountryCode: t.publisherCC, VendorConsents: t.vendorConsents,
      VendorLegitimateInterests: t.vendorLI, PublisherRestrictions: t.restrictions,
      PublisherPurposesSegmentType: 3, PublisherConsents: t.pubConsents || zero,
      PublisherLegitimateInterests: t.pubLI || zero,
      NumCustomPurposes: t.customConsents ? t.customConsents.length : 0,
      PublisherCustomConsents: upTo(t.customConsents), PublisherCustomLegitimateInterests: upTo(t.customLI),
      VendorsAllowedSegmentType: 2, VendorsAllowed: [], VendorsDisclosedSegmentType: 1,
      VendorsDisclosed: t.disclosed
    };
  }

  function load(next) {
    state = next; tc = null; parsed = {};
    try {
      if (state.gdprApplies && state.tcString) tc = decodeTC(state.tcString);
      var g = state.gpp, secs = g.gppString ? g.gppString.split('~').slice(1) : [];
      g.sectionList.forEach(function (id, i) {
        if (id === 2) parsed.tcfeuv2 = tcfeuv2(decodeTC(secs[i]));
        if (id === 7) parsed.usnat = decodeUsNat(secs[i]);
      });
    } catch (e) {
      state.error = true;
    }
  }

  // --- __tcfapi, following @iabtechlabtcf/cmpapi's responses -------------------------------
  function base() {
    return {cmpId: state.cmpId, cmpVersion: state.cmpVersion, gdprApplies: state.gdprApplies,
      tcfPolicyVersion: state.tcfPolicyVersion};
  }
  function ping() {
    var p = base();
    p.cmpLoaded = true; p.cmpStatus = state.error ? 'error' : 'loaded';
    p.displayStatus = state.displayStatus; p.apiVersion = '2';
    if (tc && tc.vendorListVersion) p.gvlVersion = tc.vendorListVersion;
    return p;
  }
  // {id: bool} for ids 1 to the highest set (or for the ids asked about).
  function vector(list, only) {
    var out = {}, max = 0, has = {};
    (list || []).forEach(function (id) { has[id] = true; if (id > max) max = id; });
    if (only) only.forEach(function (id) { out[id] = !!has[id]; });
    else for (var i = 1; i <= max; i++) out[i] = !!has[i];
    return out;
  }
  function tcData(only, listenerId) {
    var t = base();
    t.eventStatus = state.eventStatus; t.cmpStatus = 'loaded'; t.listenerId = listenerId;
    if (!state.gdprApplies) return t;
    var x = tc || {vendorConsents: [], vendorLI: [], disclosed: [], restrictions: [], isServiceSpecific: true,
      useNonStandardTexts: false, purposeOneTreatment: false};
    var restrictions = {};
    x.restrictions.forEach(function (r) {
      var m = restrictions[r.key] = restrictions[r.key] || {};
      r.ids.forEach(function (id) { m[id] = r.type; });
    });
    t.tcString = state.tcString; t.isServiceSpecific = x.isServiceSpecific;
    t.useNonStandardTexts = x.useNonStandardTexts; t.purposeOneTreatment = x.purposeOneTreatment;
    t.publisherCC = x.publisherCC;
    t.purpose = {consents: vector(ids(x.purposeConsents || [])), legitimateInterests: vector(ids(x.purposeLI || []))};
    t.vendor = {consents: vector(x.vendorConsents, only), legitimateInterests: vector(x.vendorLI, only),
      disclosedVendors: vector(x.disclosed, only)};
    t.specialFeatureOptins = vector(ids(x.specialFeatures || []));
    t.publisher = {consents: vector(ids(x.pubConsents || [])), legitimateInterests: vector(ids(x.pubLI || [])),
      customPurpose: {consents: vector(ids(x.customConsents || [])), legitimateInterests: vector(ids(x.customLI || []))},
      restrictions: restrictions};
    return t;
  }
  function tcfapi(command, version, callback, parameter) {
    if (!arguments.length) return queue;
    if (typeof command !== 'string' && typeof callback === 'function') return callback(null, false);
    if (typeof version === 'string') version = Number(version);
    if ([0, 2, undefined, null].indexOf(version) < 0) return callback(null, false);
    if (typeof callback !== 'function') throw new Error('invalid callback function');
    if (!state) {
      if (command === 'ping') return callback({cmpLoaded: false, cmpStatus: 'stub', apiVersion: '2'}, true);
      return queue.push([command, version, callback, parameter]);
    }
    if (state.error) return callback({cmpId: state.cmpId, cmpStatus: 'error'}, false);
    if (command === 'ping') return callback(ping(), true);
    if (command === 'getTCData' || command === 'addEventListener') {
      if (parameter !== undefined && !(Array.isArray(parameter) && parameter.every(Number.isInteger))) {
        return callback(null, false);
      }
      var id;
      if (command === 'addEventListener') { id = tcfNext++; tcfListeners[id] = [callback, parameter]; }
      return callback(tcData(parameter, id), true);
    }
    if (command === 'removeEventListener') {
      var known = parameter in tcfListeners;
      delete tcfListeners[parameter];
      return callback(known, true);
    }
    callback(null, false);
  }

  // --- __gpp, following @iabgpp/cmpapi's responses -----------------------------------------
  function gppPing() {
    var g = state.gpp;
    return {gppVersion: '1.1', cmpStatus: state.error ? 'error' : 'loaded',
      cmpDisplayStatus: state.displayStatus, signalStatus: 'ready', supportedAPIs: g.supportedAPIs,
      cmpId: state.cmpId, sectionList: g.sectionList, applicableSections: g.applicableSections,
      gppString: g.gppString, parsedSections: parsed};
  }
  function event(name, id, data) { return {eventName: name, listenerId: id, data: data, pingData: gppPing()}; }
  function gpp(command, callback, parameter) {
    if (!arguments.length) return gppQueue;
    if (typeof command !== 'string') return callback(null, false);
    if (callback && typeof callback !== 'function') throw new Error('invalid callback function');
    if (!state) {
      if (command === 'ping') return callback({gppVersion: '1.1', cmpStatus: 'stub', cmpDisplayStatus: 'hidden',
        signalStatus: 'not ready', supportedAPIs: [], cmpId: 0, sectionList: [], applicableSections: [-1], gppString: ''}, true);
      return gppQueue.push([command, callback, parameter]);
    }
    var done = callback || function () {};
    if (command === 'ping') return done(gppPing(), true);
    if (command === 'addEventListener') {
      var id = gppNext++;
      gppListeners[id] = callback;
      return done(event('listenerRegistered', id, true), true);
    }
    if (command === 'removeEventListener') {
      var known = parameter in gppListeners;
      delete gppListeners[parameter];
      return done(event('listenerRemoved', parameter, known), true);
    }
    // As @iabgpp/cmpapi: success is whether there is an answer. Since TCF v2.2 the
    // tcfeuv2 data is for event listeners only.
    var answer = null;
    if (command === 'hasSection' && parameter) answer = parameter in parsed;
    if (command === 'getSection' && parameter !== 'tcfeuv2') answer = parsed[parameter] || null;
    if (command === 'getField') {
      var parts = String(parameter).split('.'), sec = parts[0] !== 'tcfeuv2' && parsed[parts[0]];
      if (parts.length === 2 && sec && parts[1] in sec) answer = sec[parts[1]];
    }
    done(answer, answer !== null);
  }

  function notify(previous) {
    Object.keys(tcfListeners).forEach(function (id) {
      var l = tcfListeners[id];
      l[0](tcData(l[1], Number(id)), true);
    });
    function all(name, data) {
      Object.keys(gppListeners).forEach(function (id) { gppListeners[id](event(name, Number(id), data), true); });
    }
    all('signalStatus', 'not ready');
    if (previous.displayStatus !== state.displayStatus) all('cmpDisplayStatus', state.displayStatus);
    Object.keys(parsed).forEach(function (name) { all('sectionChange', name); });
    all('signalStatus', 'ready');
  }

  function locator(name) {
    if (w.frames[name]) return;
    if (!d.body) return setTimeout(locator, 5, name);
    var f = d.createElement('iframe');
    f.name = name; f.hidden = true; f.title = name; f.setAttribute('aria-hidden', 'true');
    d.body.appendChild(f);
  }
  w.addEventListener('message', function (e) {
    var asText = typeof e.data === 'string', msg = e.data;
    if (asText) { try { msg = JSON.parse(e.data); } catch (x) { return; } }
    if (!msg || typeof msg !== 'object' || !e.source) return;
    function reply(key, call) {
      return function (value, success) {
        var out = {}; out[key] = {returnValue: value, success: success, callId: call.callId};
        e.source.postMessage(asText ? JSON.stringify(out) : out, '*');
      };
    }
    var c = msg.__tcfapiCall, g = msg.__gppCall;
    if (c) w.__tcfapi(c.command, c.version, reply('__tcfapiReturn', c), c.parameter);
    if (g) w.__gpp(g.command, reply('__gppReturn', g), g.parameter, g.version);
  });

  function start() {
    if (state) return true;
    var el = d.getElementById('gk-tcf-state');
    if (!el) return false;
    try { load(JSON.parse(el.textContent)); } catch (e) { load({error: true, gpp: {sectionList: []}}); }
    var pending = queue.concat([]), gppPending = gppQueue.concat([]);
    queue.length = gppQueue.length = 0;
    pending.forEach(function (a) { tcfapi.apply(null, a); });
    gppPending.forEach(function (a) { gpp.apply(null, a); });
    return true;
  }

  // Calls a stub made before this script (the IAB stubs keep them in a queue) come first.
  if (typeof w.__tcfapi === 'function') { try { queue = (w.__tcfapi() || []).concat([]); } catch (e) {} }
  if (typeof w.__gpp === 'function') { try { gppQueue = (w.__gpp() || []).concat([]); } catch (e) {} }
  w.__tcfapi = tcfapi;
  w.__gpp = gpp;
  locator('__tcfapiLocator');
  locator('__gppLocator');
  if (!start()) d.addEventListener('DOMContentLoaded', start);
  d.addEventListener('gk:tcf', function (e) {
    if (!start() || !e.detail) return;
    var previous = state;
    load(e.detail);
    notify(previous);
  });
})(window, document);
