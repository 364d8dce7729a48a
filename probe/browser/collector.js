// storeprobe in-page Core Web Vitals collector.
//
// Installed with Page.addScriptToEvaluateOnNewDocument before any navigation,
// so its buffered PerformanceObservers see every entry of the document from
// its start. Definitions follow web.dev (and the web-vitals library):
//   FCP  first-contentful-paint startTime
//   LCP  last largest-contentful-paint candidate before the first input or
//        the page being hidden
//   CLS  largest session window of layout shifts without recent input
//        (windows end after a 1 s gap or at 5 s)
//   INP  worst interaction latency from Event Timing grouped by
//        interactionId, p98 (skip one per 50) when over 50 interactions;
//        like web-vitals, an interaction whose entries are all under the
//        16 ms threshold counts only through first-input (any duration, 0
//        included), and a page with interactions but no entry at all
//        reports 0
//   TTFB navigation responseStart
// Values are pushed to Go through the CDP binding named below whenever they
// change, and flushed synchronously on beforeunload, pagehide and
// visibilitychange so the INP of a click that navigates away is still
// delivered (see the fallback timing below).
//
// The page must not be able to forge or flood these reports: the binding is
// taken into this closure and deleted from window (in every frame, before
// anything else runs), and each message starts with a per-run nonce the Go
// side injects here and checks. The nonce lives only in this closure and is
// only ever concatenated to a string, so no page hook (toJSON, a replaced
// JSON.stringify) sees it.
(() => {
  'use strict';
  const BINDING = '__storeprobeVitals';
  const NONCE = '__STOREPROBE_NONCE__';
  const send = window[BINDING];
  try { delete window[BINDING]; } catch (_) { /* not configurable */ }
  if (window !== window.top) return; // top-level documents only
  if (location.protocol !== 'http:' && location.protocol !== 'https:') return;
  if (typeof send !== 'function' || typeof PerformanceObserver !== 'function') return;
  const stringify = JSON.stringify;
  const raf = window.requestAnimationFrame;

  const st = Object.assign(Object.create(null), {
    id: String(performance.timeOrigin) + '-' + Math.random().toString(36).slice(2, 10),
    url: location.href,
    seq: 0,
    final: false,
    fcp: null,
    lcp: null,
    lcp_element: '',
    cls: 0,
    inp: null,
    interactions: 0,
    ttfb: null,
    load: null,
    dcl: null,
  });

  // A short CSS-like description of an element: tag#id.class1.class2.
  const describe = (el) => {
    if (!el || !el.tagName) return '';
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (typeof el.className === 'string' && el.className.trim() !== '') {
      s += '.' + el.className.trim().split(/\s+/).slice(0, 3).join('.');
    }
    return s.length > 120 ? s.slice(0, 120) : s;
  };

  // LCP stops at the first input (web.dev: keydown or click/tap) or hide.
  let lcpStopAt = Infinity;
  const stopLCP = (e) => {
    if (lcpStopAt === Infinity) lcpStopAt = e && e.timeStamp ? e.timeStamp : performance.now();
  };
  // lastInput is the time of the latest real (trusted) discrete input, for
  // CLS: Chrome also marks shifts hadRecentInput for 500 ms after an
  // emulation resize (crbug.com/1094974), which would hide every early
  // shift of a mobile run; like Lighthouse, a shift is only excluded when an
  // input really came within 500 ms before it.
  let lastInput = -Infinity;
  for (const type of ['keydown', 'pointerdown', 'click']) {
    addEventListener(type, (e) => {
      stopLCP(e);
      if (e.isTrusted) lastInput = e.timeStamp || performance.now();
    }, { capture: true, passive: true });
  }

  const onLCP = (entries) => {
    for (const e of entries) {
      if (e.startTime > lcpStopAt) continue;
      st.lcp = e.startTime;
      st.lcp_element = describe(e.element) || (e.url ? 'img[src="' + e.url.slice(0, 80) + '"]' : '');
    }
  };

  const onPaint = (entries) => {
    for (const e of entries) {
      if (e.name === 'first-contentful-paint' && st.fcp === null) st.fcp = e.startTime;
    }
  };

  // CLS session windows.
  let sessionValue = 0, sessionFirst = 0, sessionLast = 0;
  const onShift = (entries) => {
    for (const e of entries) {
      if (e.hadRecentInput && e.startTime - lastInput <= 500) continue;
      if (sessionValue > 0 && e.startTime - sessionLast < 1000 && e.startTime - sessionFirst < 5000) {
        sessionValue += e.value;
      } else {
        sessionValue = e.value;
        sessionFirst = e.startTime;
      }
      sessionLast = e.startTime;
      if (sessionValue > st.cls) st.cls = sessionValue;
    }
  };

  // INP: the longest event duration per interaction. Entries of the
  // 'event' type only come at or over the 16 ms threshold; the first-input
  // entry comes whatever its duration, so a fast first interaction is
  // recorded with its own (possibly 0) latency, as web-vitals does.
  const interactions = new Map();
  const onEvent = (entries) => {
    for (const e of entries) {
      if (!e.interactionId) continue;
      if (!interactions.has(e.interactionId) || e.duration > interactions.get(e.interactionId)) {
        interactions.set(e.interactionId, e.duration);
      }
    }
    // performance.interactionCount also counts interactions under the
    // threshold, which is what the p98 rule is defined on.
    const count = Math.max(performance.interactionCount || 0, interactions.size);
    st.interactions = count;
    if (interactions.size === 0) {
      // web-vitals: interactions happened but none was captured: INP 0.
      if (count > 0) st.inp = 0;
      return;
    }
    const worst = Array.from(interactions.values()).sort((a, b) => b - a);
    st.inp = worst[Math.min(worst.length - 1, Math.floor(count / 50))];
  };

  // An interaction that navigates away never gets its Event Timing entry
  // (the entry waits for the presentation of a frame the old document may
  // never make), and messages sent from pagehide are lost once the new
  // document has committed. So such an interaction is timed here, from the
  // event's timestamp to beforeunload, and sent while the document is
  // still attached. A link's or submit button's navigation starts after
  // the listeners have returned (in the same task for a link, in a posted
  // task for a form), so the last dispatch stays a candidate until its
  // own entry is seen. If the navigation came well after the dispatch
  // ended (a timer), only the dispatch itself is counted.
  let leaving = false, last = null, fallbacks = 0;
  const addFallback = (c) => {
    const now = performance.now();
    if (c.seen || (c.end !== null && now - c.end > 1000)) return;
    const end = c.end === null || now - c.end < 50 ? now : c.end;
    if (!c.key) c.key = 'fallback-' + (++fallbacks);
    const d = end - c.start;
    if (!interactions.has(c.key) || d > interactions.get(c.key)) interactions.set(c.key, d);
    onEvent([]);
  };
  const seen = (entries) => {
    for (const e of entries) {
      if (last !== null && Math.abs(e.startTime - last.start) < 1 && e.name === last.type) last.seen = true;
    }
  };
  for (const type of ['pointerdown', 'pointerup', 'click', 'keydown', 'keyup']) {
    addEventListener(type, (e) => {
      const c = last = { type, start: e.timeStamp, end: null, seen: false, key: '' };
      // If a listener stops the event's propagation, the bubble listener
      // below never runs: end at the next frame instead.
      try { raf.call(window, () => { if (c.end === null) c.end = performance.now(); }); } catch (_) { /* no frames */ }
    }, { capture: true });
    addEventListener(type, () => {
      if (last === null) return;
      if (leaving) { addFallback(last); flush(); }
      if (last.end === null) last.end = performance.now();
    });
  }
  addEventListener('beforeunload', () => {
    leaving = true;
    if (last !== null) addFallback(last);
    stopLCP();
    flush();
  }, { capture: true });

  const readNavigation = () => {
    const nav = performance.getEntriesByType('navigation')[0];
    if (!nav) return;
    if (nav.responseStart > 0) st.ttfb = nav.responseStart;
    if (nav.domContentLoadedEventEnd > 0) st.dcl = nav.domContentLoadedEventEnd;
    if (nav.loadEventEnd > 0) st.load = nav.loadEventEnd;
  };

  const observers = [];
  const observe = (type, cb, extra) => {
    try {
      const po = new PerformanceObserver((list) => { cb(list.getEntries()); changed(); });
      po.observe(Object.assign({ type, buffered: true }, extra || {}));
      observers.push([po, cb]);
    } catch (_) { /* entry type unsupported */ }
  };

  const emit = () => {
    readNavigation();
    onEvent([]); // interactionCount may have grown without an entry
    st.seq++;
    try { send(NONCE + stringify(st)); } catch (_) { /* binding gone */ }
  };

  // Coalesce changes within a task into one message.
  let pending = false;
  const changed = () => {
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; emit(); }, 0);
  };

  // flush processes entries the observers have not delivered yet, then sends.
  const flush = () => {
    for (const [po, cb] of observers) {
      const recs = po.takeRecords();
      if (recs.length) cb(recs);
    }
    emit();
  };

  observe('paint', onPaint);
  observe('largest-contentful-paint', onLCP);
  observe('layout-shift', onShift);
  observe('event', (entries) => { seen(entries); onEvent(entries); }, { durationThreshold: 16 });
  observe('first-input', (entries) => { seen(entries); onEvent(entries); });

  addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') { stopLCP(); flush(); }
  }, { capture: true });
  addEventListener('pagehide', () => { stopLCP(); st.final = true; flush(); }, { capture: true });
  addEventListener('DOMContentLoaded', changed);
  addEventListener('load', () => setTimeout(changed, 0));

  // The Go side reads the current values with this at the end of a page.
  Object.defineProperty(window, '__storeprobeSnapshot', {
    value: () => { flush(); return stringify(st); },
    enumerable: false,
  });
  emit();
})();
