// The IAB's own libraries as the oracle for gatekeeper's TC and GPP strings.
//
// Reads one JSON request on stdin, writes one JSON answer on stdout:
//   {"op": "decode", "strings": [...]}        -> [fields of each TC string, or {"error"}]
//   {"op": "encode", "gvl": FILE, "models": [...]} -> [TC string of each model]
//   {"op": "random", "count": N, "seed": S}   -> [{string}] from random models on a random
//                                                 vendor list (@iabtechlabtcf/core encodes)
//   {"op": "gpp_decode", "strings": [...]}    -> [{sectionIds, tcfeuv2, usnat}]
//   {"op": "gpp_random", "count": N, "seed": S, "tcStrings": [...]} -> [{string}]
//   {"op": "cmpapi", "cases": [...]}          -> what @iabtechlabtcf/cmpapi answers
//   {"op": "gppapi", "cases": [...]}          -> what @iabgpp/cmpapi answers
'use strict';
const fs = require('fs');
const core = require('@iabtechlabtcf/core');
const gppLib = require('@iabgpp/cmpapi');

function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ids = (vector) => [...vector.values()].sort((a, b) => a - b);

function fields(m) {
  const restrictions = m.publisherRestrictions.getRestrictions().map((r) =>
    [r.purposeId, r.restrictionType, m.publisherRestrictions.getVendors(r).slice().sort((a, b) => a - b)]);
  restrictions.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return {
    version: m.version,
    created: m.created.getTime(),
    lastUpdated: m.lastUpdated.getTime(),
    cmpId: m.cmpId,
    cmpVersion: m.cmpVersion,
    consentScreen: m.consentScreen,
    consentLanguage: m.consentLanguage,
    vendorListVersion: m.vendorListVersion,
    policyVersion: m.policyVersion,
    isServiceSpecific: m.isServiceSpecific,
    useNonStandardTexts: m.useNonStandardTexts,
    purposeOneTreatment: m.purposeOneTreatment,
    publisherCC: m.publisherCountryCode,
    specialFeatureOptins: ids(m.specialFeatureOptins),
    purposeConsents: ids(m.purposeConsents),
    purposeLegitimateInterests: ids(m.purposeLegitimateInterests),
    vendorConsents: ids(m.vendorConsents),
    vendorLegitimateInterests: ids(m.vendorLegitimateInterests),
    vendorsDisclosed: ids(m.vendorsDisclosed),
    restrictions,
    publisherConsents: ids(m.publisherConsents),
    publisherLegitimateInterests: ids(m.publisherLegitimateInterests),
    numCustomPurposes: m.numCustomPurposes,
    publisherCustomConsents: ids(m.publisherCustomConsents),
    publisherCustomLegitimateInterests: ids(m.publisherCustomLegitimateInterests),
  };
}

function model(gvl, spec) {
  const m = new core.TCModel(gvl);
  m.cmpId = spec.cmpId;
  m.cmpVersion = spec.cmpVersion;
  m.consentScreen = spec.consentScreen || 1;
  m.publisherCountryCode = spec.publisherCC || 'DE';
  m.purposeOneTreatment = !!spec.purposeOneTreatment;
  m.purposeConsents.set(spec.purposeConsents || []);
  m.purposeLegitimateInterests.set(spec.purposeLegitimateInterests || []);
  m.specialFeatureOptins.set(spec.specialFeatureOptins || []);
  m.vendorConsents.set(spec.vendorConsents || []);
  m.vendorLegitimateInterests.set(spec.vendorLegitimateInterests || []);
  m.vendorsDisclosed.set(spec.vendorsDisclosed || []);
  m.publisherConsents.set(spec.publisherConsents || []);
  m.publisherLegitimateInterests.set(spec.publisherLegitimateInterests || []);
  for (const [purpose, type, vendors] of spec.restrictions || []) {
    const restriction = new core.PurposeRestriction(purpose, type);
    for (const vendor of vendors) m.publisherRestrictions.add(vendor, restriction);
  }
  if (spec.created) { m.created = new Date(spec.created); m.lastUpdated = new Date(spec.created); }
  return m;
}

// A vendor list with `count` vendors spread over 1-max, random but valid declarations.
function randomGvl(rand, count, max) {
  const purposes = {}, specialPurposes = {}, features = {}, specialFeatures = {};
  for (let i = 1; i <= 11; i++) purposes[i] = {id: i, name: `P${i}`, description: '', illustrations: []};
  for (let i = 1; i <= 3; i++) specialPurposes[i] = {id: i, name: `S${i}`, description: '', illustrations: []};
  for (let i = 1; i <= 3; i++) features[i] = {id: i, name: `F${i}`, description: '', illustrations: []};
  for (let i = 1; i <= 2; i++) specialFeatures[i] = {id: i, name: `SF${i}`, description: '', illustrations: []};
  const vendors = {};
  const taken = new Set();
  while (taken.size < count) taken.add(1 + Math.floor(rand() * max));
  for (const id of taken) {
    const consent = [], li = [], flexible = [];
    for (let p = 1; p <= 11; p++) {
      const r = rand();
      if (r < 0.35) consent.push(p);
      else if (r < 0.5 && ![1, 3, 4, 5, 6].includes(p)) li.push(p);
    }
    for (const p of consent.concat(li)) if (p !== 1 && rand() < 0.3) flexible.push(p);
    vendors[id] = {id, name: `V${id}`, purposes: consent, legIntPurposes: li, flexiblePurposes: flexible,
      specialPurposes: rand() < 0.5 ? [1] : [], features: [], specialFeatures: rand() < 0.2 ? [1] : [],
      urls: [{langId: 'en', privacy: 'https://v.example/p'}], usesCookies: false, cookieRefresh: false,
      usesNonCookieAccess: false, cookieMaxAgeSeconds: null};
  }
  return new core.GVL({gvlSpecificationVersion: 3, vendorListVersion: 1 + Math.floor(rand() * 4000),
    tcfPolicyVersion: 5, lastUpdated: '2026-11-26T16:00:00Z', purposes, specialPurposes, features,
    specialFeatures, stacks: {}, dataCategories: {}, vendors});
}

function pick(rand, list, p) { return list.filter(() => rand() < p); }
function range(n) { return Array.from({length: n}, (_, i) => i + 1); }

function randomModel(rand) {
  const max = rand() < 0.5 ? 60 : 1 + Math.floor(rand() * 3000);
  const count = Math.max(1, Math.min(max, Math.floor(rand() * 300)));
  const gvl = randomGvl(rand, count, max);
  const vendorIds = Object.keys(gvl.vendors).map(Number).sort((a, b) => a - b);
  // Dense or sparse, so both encodings show up.
  const density = [0, 0.05, 0.5, 0.95, 1][Math.floor(rand() * 5)];
  const restrictions = [];
  for (let i = Math.floor(rand() * 4); i > 0; i--) {
    restrictions.push([1 + Math.floor(rand() * 11), Math.floor(rand() * 3), pick(rand, vendorIds, 0.3)]);
  }
  const m = model(gvl, {
    cmpId: 2 + Math.floor(rand() * 4000),
    cmpVersion: 1 + Math.floor(rand() * 4000),
    consentScreen: Math.floor(rand() * 64),
    publisherCC: String.fromCharCode(65 + Math.floor(rand() * 26), 65 + Math.floor(rand() * 26)),
    purposeOneTreatment: rand() < 0.2,
    purposeConsents: pick(rand, range(11), 0.5),
    purposeLegitimateInterests: pick(rand, range(11), 0.5),
    specialFeatureOptins: pick(rand, range(2), 0.5),
    vendorConsents: pick(rand, vendorIds, density),
    vendorLegitimateInterests: pick(rand, vendorIds, density),
    vendorsDisclosed: pick(rand, vendorIds, Math.max(density, 0.5)),
    publisherConsents: pick(rand, range(11), 0.3),
    publisherLegitimateInterests: pick(rand, range(11), 0.3),
    restrictions,
    created: Date.UTC(2020 + Math.floor(rand() * 7), Math.floor(rand() * 12), 1 + Math.floor(rand() * 28)),
  });
  if (rand() < 0.3) {
    const n = 1 + Math.floor(rand() * 5);
    m.numCustomPurposes = n;
    m.publisherCustomConsents.set(pick(rand, range(n), 0.5));
    m.publisherCustomLegitimateInterests.set(pick(rand, range(n), 0.5));
  }
  return m;
}

function gppFields(text) {
  const m = new gppLib.GppModel(text);
  const out = {sectionIds: m.getSectionIds()};
  if (m.hasSection('usnat')) out.usnat = m.getSection('usnat');
  if (m.hasSection('tcfeuv2')) out.tcfeuv2 = m.encodeSection('tcfeuv2');
  return out;
}

function cmpapiCases(cases) {
  // @iabtechlabtcf/cmpapi keeps its state in module statics and on window: one fresh
  // module per case.
  return cases.map((c) => {
    for (const key of Object.keys(require.cache)) {
      if (key.includes('@iabtechlabtcf')) delete require.cache[key];
    }
    global.window = {};
    const {CmpApi} = require('@iabtechlabtcf/cmpapi');
    const api = new CmpApi(c.cmpId, c.cmpVersion, true);
    for (const step of c.updates) api.update(step.tcString, step.uiVisible);
    return {
      ping: (() => { let r; window.__tcfapi('ping', 2, (p) => { r = p; }); return r; })(),
      getTCData: (() => { let r; window.__tcfapi('getTCData', 2, (d, ok) => { r = [d, ok]; }); return r; })(),
      getTCDataVendors: (() => { let r; window.__tcfapi('getTCData', 2, (d, ok) => { r = [d, ok]; }, c.vendorIds); return r; })(),
      listener: (() => { let r; window.__tcfapi('addEventListener', 2, (d, ok) => { r = [d, ok]; }); return r; })(),
      removeKnown: (() => { let r; window.__tcfapi('removeEventListener', 2, (...a) => { r = a; }, 0); return r; })(),
      removeUnknown: (() => { let r; window.__tcfapi('removeEventListener', 2, (...a) => { r = a; }, 99); return r; })(),
      badVersion: (() => { let r; window.__tcfapi('ping', 1, (...a) => { r = a; }); return r; })(),
      unknownCommand: (() => { let r; window.__tcfapi('nonsense', 2, (...a) => { r = a; }); return r; })(),
    };
  });
}

function gppapiCases(cases) {
  return cases.map((c) => {
    for (const key of Object.keys(require.cache)) {
      if (key.includes('@iabgpp')) delete require.cache[key];
    }
    global.window = {__gpp: () => [], addEventListener() {}, postMessage() {}};
    const lib = require('@iabgpp/cmpapi');
    const api = new lib.CmpApi(c.cmpId, c.cmpVersion);
    api.setSupportedAPIs(c.supportedAPIs);
    if (c.gppString) api.setGppString(c.gppString);
    api.setApplicableSections(c.applicableSections);
    api.setCmpStatus(lib.CmpStatus.LOADED);
    api.setCmpDisplayStatus(c.displayStatus);
    api.setSignalStatus(lib.SignalStatus.READY);
    const ask = (...args) => { let r; window.__gpp(args[0], (...a) => { r = a; }, ...args.slice(1)); return r; };
    return {
      ping: ask('ping'),
      listener: ask('addEventListener'),
      removeKnown: ask('removeEventListener', 1000),
      removeUnknown: ask('removeEventListener', 7),
      hasUsnat: ask('hasSection', 'usnat'),
      usnat: ask('getSection', 'usnat'),
      saleOptOut: ask('getField', 'usnat.SaleOptOut'),
      tcfSection: ask('getSection', 'tcfeuv2'),
      unknownCommand: ask('nonsense'),
    };
  });
}

function main(request) {
  const rand = random(request.seed || 1);
  switch (request.op) {
    case 'decode':
      return request.strings.map((s) => {
        try { return fields(core.TCString.decode(s)); } catch (e) { return {error: String(e.message || e)}; }
      });
    case 'encode': {
      const gvl = new core.GVL(JSON.parse(fs.readFileSync(request.gvl, 'utf8')));
      return request.models.map((spec) => core.TCString.encode(model(gvl, spec)));
    }
    case 'random':
      return Array.from({length: request.count}, () => ({string: core.TCString.encode(randomModel(rand))}));
    case 'gpp_decode':
      return request.strings.map(gppFields);
    case 'gpp_random':
      return Array.from({length: request.count}, (_, i) => {
        const m = new gppLib.GppModel();
        const two = () => Math.floor(rand() * 3);
        if (rand() < 0.8 || !request.tcStrings.length) {
          for (const f of ['SharingNotice', 'SaleOptOutNotice', 'SharingOptOutNotice',
            'TargetedAdvertisingOptOutNotice', 'SensitiveDataProcessingOptOutNotice',
            'SensitiveDataLimitUseNotice', 'SaleOptOut', 'SharingOptOut', 'TargetedAdvertisingOptOut',
            'PersonalDataConsents', 'MspaOptOutOptionMode', 'MspaServiceProviderMode']) {
            m.setFieldValue('usnat', f, two());
          }
          m.setFieldValue('usnat', 'MspaCoveredTransaction', 1 + Math.floor(rand() * 2));
          m.setFieldValue('usnat', 'SensitiveDataProcessing', Array.from({length: 16}, two));
          m.setFieldValue('usnat', 'KnownChildSensitiveDataConsents', Array.from({length: 3}, two));
          const gpc = rand() < 0.5;
          m.setFieldValue('usnat', 'GpcSegmentIncluded', gpc);
          if (gpc) m.setFieldValue('usnat', 'Gpc', rand() < 0.5);
        }
        if (request.tcStrings.length && rand() < 0.6) {
          m.decodeSection('tcfeuv2', request.tcStrings[i % request.tcStrings.length]);
        }
        return {string: m.encode()};
      });
    case 'cmpapi':
      return cmpapiCases(request.cases);
    case 'gppapi':
      return gppapiCases(request.cases);
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(main(JSON.parse(input))));
});
