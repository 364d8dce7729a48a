// Hearth & Field demo shop: consent banner, add to cart and test payments.
// Plain JavaScript, no dependencies, no third-party requests.
(function () {
  'use strict';

  function $(sel) { return document.querySelector(sel); }

  function show(el, text, cls) {
    el.textContent = text;
    el.className = el.className.split(' ')[0] + (cls ? ' ' + cls : '');
  }

  var accept = $('#accept-cookies');
  if (accept) {
    accept.addEventListener('click', function () {
      document.cookie = 'consent=1; path=/; max-age=31536000; samesite=lax';
      var banner = $('#cookie-banner');
      if (banner) banner.hidden = true;
    });
  }

  var addForm = $('#add-form');
  if (addForm) {
    addForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var button = $('#add-to-cart');
      var status = $('#cart-status');
      button.disabled = true;
      fetch('/cart/add', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Accept': 'application/json' },
        body: new URLSearchParams(new FormData(addForm)),
        credentials: 'same-origin'
      }).then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok) throw new Error(body.error || 'HTTP ' + res.status);
          return body;
        });
      }).then(function (body) {
        document.querySelectorAll('.cart-count').forEach(function (el) { el.textContent = body.count; });
        show(status, 'Added to cart', 'added');
        // The GA4 tag, when the shop loads one (Options.Vendors).
        if (typeof window.gtag === 'function') window.gtag('event', 'add_to_cart', { currency: 'EUR' });
      }).catch(function (err) {
        show(status, 'Could not add to cart: ' + err.message, 'error');
      }).finally(function () {
        button.disabled = false;
      });
    });
  }

  var checkout = $('#checkout-form');
  if (checkout) {
    checkout.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var pay = $('#pay');
      var result = $('#payment-result');
      pay.disabled = true;
      show(result, 'Authorising…', 'pending');
      fetch('/api/pay', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
        body: JSON.stringify({ email: $('#email').value, country: $('#country').value }),
        credentials: 'same-origin'
      }).then(function (res) {
        return res.json();
      }).then(function (body) {
        if (body.status === 'approved') {
          show(result, 'Payment approved (test mode, nothing charged): ' + body.id, 'approved');
          document.querySelectorAll('.cart-count').forEach(function (el) { el.textContent = '0'; });
        } else {
          show(result, 'Payment declined: ' + (body.reason || body.error || 'unknown reason'), 'declined');
          pay.disabled = false;
        }
      }).catch(function (err) {
        show(result, 'Payment failed: ' + err.message, 'declined');
        pay.disabled = false;
      });
    });
  }
})();
