// Stands in for the RequireJS modules a Luma storefront page runs, each
// section naming the module of github.com/magento/magento2 (2.4 line) it
// replaces. Ours and minimal: no jQuery, no Knockout, only the behaviour the
// checkout flow depends on, against the markup the module works on.
(function () {
  'use strict';

  function getCookie(name) {
    const m = document.cookie.match(new RegExp('(?:^|; )' + name + '=([^;]*)'));
    return m ? decodeURIComponent(m[1]) : null;
  }
  function setCookie(name, value, maxAge) {
    document.cookie = name + '=' + encodeURIComponent(value) + '; path=/; SameSite=Lax' + (maxAge ? '; max-age=' + maxAge : '');
  }

  // Magento_PageCache/js/form-key-provider: pages are cacheable, so the
  // form_key inputs are filled from the form_key cookie in the browser.
  function formKeys() {
    const key = getCookie('form_key');
    document.querySelectorAll('input[name="form_key"]').forEach((i) => { i.value = key || ''; });
  }

  // Magento_Cookie/js/notices (cookieNotices widget): shown when
  // user_allowed_save_cookie is unset; "Allow Cookies" stores the accepted
  // website ids as JSON and hides the notice.
  function cookieNotices() {
    const block = document.getElementById('notice-cookie-block');
    if (!block) return;
    if (getCookie('user_allowed_save_cookie')) {
      block.style.display = 'none';
      return;
    }
    block.style.display = 'block';
    document.getElementById('btn-cookie-allow').addEventListener('click', () => {
      setCookie('user_allowed_save_cookie', JSON.stringify({ 1: 1 }), 31536000);
      block.style.display = 'none';
      document.dispatchEvent(new CustomEvent('user:allowed:save:cookie'));
    });
  }

  // Magento_Search/js/form-mini (quickSearch widget): the submit button is
  // disabled until the field has text, re-checked 300 ms (suggestionDelay)
  // after the last input; from 3 characters, suggestions are fetched.
  function quickSearch() {
    const input = document.getElementById('search');
    const form = document.getElementById('search_mini_form');
    if (!input || !form) return;
    const submit = form.querySelector('button[type="submit"]');
    const list = document.getElementById('search_autocomplete');
    submit.disabled = true;
    let timer;
    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const value = input.value;
        submit.disabled = /^\s*$/.test(value);
        if (value.length < 3) {
          list.style.display = 'none';
          return;
        }
        fetch('/search/ajax/suggest/?q=' + encodeURIComponent(value), { headers: { 'X-Requested-With': 'XMLHttpRequest' } })
          .then((r) => r.json())
          .then((data) => {
            list.innerHTML = '<ul role="listbox">' + data.map((d, i) =>
              '<li class="" id="qs-option-' + i + '" role="option"><span class="qs-option-name"> ' + d.title + '</span><span aria-hidden="true" class="amount">' + d.num_results + '</span></li>').join('') + '</ul>';
            list.style.display = data.length ? 'block' : 'none';
          });
      }, 300);
    });
    form.addEventListener('submit', (e) => {
      if (/^\s*$/.test(input.value)) e.preventDefault();
    });
  }

  // Magento_Customer/js/customer-data: after a POST the affected sections
  // are reloaded from customer/section/load and every view bound to them
  // updates. Here the views are the minicart counter
  // (Magento_Checkout/js/view/minicart) and the messages
  // (Magento_Theme/js/view/messages).
  function reloadSections(names) {
    const url = '/customer/section/load/?sections=' + encodeURIComponent(names.join(',')) + '&force_new_section_timestamp=true&_=' + Date.now();
    return fetch(url, { headers: { 'X-Requested-With': 'XMLHttpRequest' } })
      .then((r) => r.json())
      .then((sections) => {
        if (sections.cart) renderMinicart(sections.cart);
        if (sections.messages) renderMessages(sections.messages.messages || []);
      });
  }

  function renderMinicart(cart) {
    const count = cart.summary_count || 0;
    const counter = document.querySelector('[data-block="minicart"] .counter.qty');
    if (!counter) return;
    counter.classList.toggle('empty', !count);
    counter.querySelector('.counter-number').textContent = count || '';
    counter.querySelector('.counter-label').textContent = count ? count + ' items' : '';
    const qty = document.querySelector('#minicart-content-wrapper .block-title .qty');
    if (qty) {
      qty.classList.toggle('empty', !count);
      qty.textContent = count || '';
    }
  }

  function renderMessages(messages) {
    const box = document.querySelector('[data-bind="scope: \'messages\'"] .messages[data-bind]');
    if (!box) return;
    box.innerHTML = messages.map((m) =>
      '<div class="message-' + m.type + ' ' + m.type + ' message" data-ui-id="message-' + m.type + '"><div>' + m.text + '</div></div>').join('');
  }

  // Magento_Catalog/js/catalog-add-to-cart (catalogAddToCart widget, bound
  // to #product_addtocart_form by Magento_Catalog/js/validate-product and to
  // the list's [data-role=tocart-form]): the form is posted with XHR; the
  // button reads "Adding..." then "Added"; a backUrl in the answer sends the
  // browser there (how Magento reports a product it could not add);
  // otherwise customer-data reloads the cart and messages sections.
  function addToCart(form) {
    const button = form.querySelector('.action.tocart');
    const label = button && button.querySelector('span');
    button.classList.add('disabled');
    label.textContent = 'Adding...';
    const body = new URLSearchParams(new FormData(form));
    fetch(form.action, {
      method: 'POST',
      headers: { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json, text/javascript, */*; q=0.01' },
      body: body,
    })
      .then((r) => r.json())
      .then((res) => {
        if (res.backUrl) {
          window.location = res.backUrl;
          return;
        }
        label.textContent = 'Added';
        setTimeout(() => {
          button.classList.remove('disabled');
          label.textContent = 'Add to Cart';
        }, 1000);
        return reloadSections(['cart', 'messages']);
      });
  }

  function catalogAddToCart() {
    document.querySelectorAll('#product_addtocart_form, [data-role="tocart-form"]').forEach((form) => {
      form.querySelectorAll('.action.tocart').forEach((b) => { b.disabled = false; });
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        addToCart(form);
      });
    });
  }

  // Magento_Checkout/js/proceed-to-checkout: the cart's button is a
  // type=button that sends the browser to the checkout URL.
  function proceedToCheckout() {
    document.querySelectorAll('[data-role="proceed-to-checkout"]').forEach((b) => {
      b.addEventListener('click', (e) => {
        e.preventDefault();
        b.disabled = true;
        location.href = '/checkout/';
      });
    });
  }

  // The minicart's dropdown (mage/dropdown dialog): the cart link toggles it.
  function minicartDropdown() {
    const wrapper = document.querySelector('[data-block="minicart"]');
    if (!wrapper) return;
    wrapper.querySelector('.action.showcart').addEventListener('click', (e) => {
      e.preventDefault();
      wrapper.classList.toggle('active');
    });
    wrapper.querySelector('#btn-minicart-close').addEventListener('click', () => wrapper.classList.remove('active'));
  }

  function init() {
    formKeys();
    cookieNotices();
    quickSearch();
    catalogAddToCart();
    proceedToCheckout();
    minicartDropdown();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
