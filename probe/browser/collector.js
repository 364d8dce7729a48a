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
//        interactionId, p98 (skip one per 50) when over 50 interactions
//   TTFB navigation responseStart
// Values are pushed to Go through the CDP binding named below whenever they
// change, and flushed synchronously on beforeunload, pagehide and
// visibilitychange so the INP of a click that navigates away is still
// delivered (see the fallback timing below).
(() => {
  'use strict';
  const BINDING = '__storeprobeVitals';
  if (window !== window.top) return; // top-level documents only
  if (location.protocol !== 'http:' && location.protocol !== 'https:') return;
  const send = window[BINDING];
  if (typeof send !== 'function' || typeof PerformanceObserver !== 'function') return;

  const st = {
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
  };

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
  for (const type of ['keydown', 'pointerdown', 'click']) {
    addEventListener(type, stopLCP, { capture: true, passive: true });
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
      if (e.hadRecentInput) continue;
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

  // INP: the longest event duration per interaction.
  const interactions = new Map();
  const onEvent = (entries) => {
    for (const e of entries) {
      if (!e.interactionId) continue;
      const prev = interactions.get(e.interactionId) || 0;
      if (e.duration > prev) interactions.set(e.interactionId, e.duration);
    }
    if (interactions.size === 0) return;
    const worst = Array.from(interactions.values()).sort((a, b) => b - a);
    // performance.interactionCount also counts interactions under the
    // threshold, which is what the p98 rule is defined on.
    const count = Math.max(performance.interactionCount || 0, interactions.size);
    st.interactions = count;
    st.inp = worst[Math.min(worst.length - 1, Math.floor(count / 50))];
  };

  // An interaction whose handler navigates away never gets its Event
  // Timing entry (the entry waits for a paint the old document never
  // makes), and messages sent from pagehide are lost once the new document
  // has committed. So: time such an interaction ourselves, from the event's
  // timestamp to the end of its dispatch (or to beforeunload if bubbling
  // was stopped), and send it while the document is still attached.
  let leaving = false, dispatching = null, fallbacks = 0;
  const addFallback = (d) => {
    interactions.set('fallback-' + (++fallbacks), d);
    onEvent([]);
  };
  for (const type of ['pointerdown', 'pointerup', 'click', 'keydown', 'keyup']) {
    addEventListener(type, (e) => { dispatching = e.timeStamp; }, { capture: true });
    addEventListener(type, () => {
      if (leaving && dispatching !== null) { addFallback(performance.now() - dispatching); flush(); }
      dispatching = null;
    });
  }
  addEventListener('beforeunload', () => {
    leaving = true;
    if (dispatching !== null) addFallback(performance.now() - dispatching);
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
    st.seq++;
    try { send(JSON.stringify(st)); } catch (_) { /* binding gone */ }
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
  observe('event', onEvent, { durationThreshold: 16 });
  observe('first-input', onEvent);

  addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') { stopLCP(); flush(); }
  }, { capture: true });
  addEventListener('pagehide', () => { stopLCP(); st.final = true; flush(); }, { capture: true });
  addEventListener('DOMContentLoaded', changed);
  addEventListener('load', () => setTimeout(changed, 0));

  // The Go side reads the current values with this at the end of a page.
  Object.defineProperty(window, '__storeprobeSnapshot', {
    value: () => { flush(); return JSON.stringify(st); },
    enumerable: false,
  });
  emit();
})();
