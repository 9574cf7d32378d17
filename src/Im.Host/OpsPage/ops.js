'use strict';

// The cluster as /api/ops/cluster tells it, redrawn every 2 s. Text goes in with textContent only:
// addresses and roles come from the cluster, and the page holds a token.
const TOKEN_KEY = 'imakka.ops.token';
const REFRESH_MS = 2000;
const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
let timer = null;

function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function figure(value) {
  return value === null || value === undefined ? '—' : String(value);
}

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(figure(child)));
  return node;
}

function showError(message) {
  const banner = $('ops-error');
  banner.textContent = message || '';
  banner.hidden = !message;
}

function showLogin(status, message) {
  const form = $('ops-login');
  $('ops-login-message').textContent = status === 403
    ? `This token may not see the cluster (403${message ? ': ' + message : ''}). Give Ops__Token or an admin's token.`
    : `These figures need a token (401${message ? ': ' + message : ''}).`;
  form.hidden = false;
  $('ops-nodes').replaceChildren();
  $('ops-token').focus();
}

function row(label, testid, value, cls) {
  return element('tr', {}, element('th', { scope: 'row' }, label), element('td', { 'data-testid': testid, class: cls }, value));
}

function big(label, testid, value) {
  return element('div', {}, element('strong', { 'data-testid': testid }, value), element('span', {}, label));
}

function renderMember(member) {
  const classes = ['node'];
  if (!member.reachable) classes.push('unreachable');
  if (['Leaving', 'Exiting', 'Down'].includes(member.status)) classes.push('leaving');
  const title = element('h2', { 'data-testid': 'ops-address' }, member.address);
  if (member.is_self) title.append(element('span', { class: 'self', 'data-testid': 'ops-is-self' }, 'this node'));
  const state = element('p', { class: 'state' },
    element('span', { 'data-testid': 'ops-status' }, member.status), ' · ',
    element('span', { 'data-testid': 'ops-reachable', class: member.reachable ? 'ok' : 'bad' },
      member.reachable ? 'reachable' : 'UNREACHABLE'));
  const numbers = element('div', { class: 'big' },
    big('sessions', 'ops-sessions', figure(member.sessions)),
    big('groups', 'ops-group-entities', figure(member.group_entities)),
    big('AI in flight', 'ops-ai-in-flight', figure(member.ai_in_flight)),
    big('AI queued', 'ops-ai-queued', figure(member.ai_queued)));
  const table = element('table', {},
    element('tbody', {},
      row('Up number (lower is older)', 'ops-up-number', figure(member.up_number)),
      row('Roles', 'ops-roles', member.roles && member.roles.length ? member.roles.join(', ') : '—'),
      row('Group shards', 'ops-group-shards', figure(member.group_shards)),
      row('Group entities', 'ops-group-entities-row', figure(member.group_entities)),
      row('User entities', 'ops-user-entities', figure(member.user_entities)),
      row('WebSocket sessions', 'ops-sessions-row', figure(member.sessions)),
      row('AI calls in flight / queued', 'ops-ai-pool', `${figure(member.ai_in_flight)} / ${figure(member.ai_queued)}`),
      row('AI circuit breaker', 'ops-ai-breaker', figure(member.ai_breaker), member.ai_breaker ? `breaker-${member.ai_breaker}` : undefined)));
  return element('section', {
    class: classes.join(' '),
    'data-testid': 'ops-node',
    'data-address': member.address,
    'data-status': member.status,
    'data-reachable': String(member.reachable),
    'data-self': String(member.is_self),
  }, title, state, numbers, table);
}

function render(cluster) {
  $('ops-self').textContent = cluster.self;
  $('ops-auth-mode').textContent = cluster.auth_mode;
  const store = cluster.store;
  $('ops-store').textContent = store.reachable
    ? `${store.kind}, reachable (${figure(store.latency_ms)} ms)`
    : `${store.kind}, UNREACHABLE`;
  $('ops-store').className = store.reachable ? '' : 'breaker-open';
  $('ops-member-count').textContent = String(cluster.members.length);
  $('ops-nodes').replaceChildren(...cluster.members.map(renderMember));
  $('ops-updated').textContent = new Date().toLocaleTimeString();
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    return body && body.error ? body.error.message : '';
  } catch {
    return '';
  }
}

async function refresh() {
  clearTimeout(timer);
  const headers = { Accept: 'application/json' };
  const token = storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  $('ops-forget-token').hidden = !token;
  try {
    const response = await fetch('/api/ops/cluster', { headers, cache: 'no-store', credentials: 'omit' });
    if (response.status === 401 || response.status === 403) {
      // Asking again with the same refused token would only be refused again: wait for a new one.
      showError('');
      showLogin(response.status, await errorMessage(response));
      return;
    }
    if (!response.ok) {
      showError(`The node answered HTTP ${response.status}: ${await errorMessage(response)}`);
    } else {
      $('ops-login').hidden = true;
      showError('');
      render(await response.json());
    }
  } catch (error) {
    showError(`The node did not answer (${error.message}); retrying.`);
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

document.addEventListener('DOMContentLoaded', () => {
  $('ops-login').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('ops-token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('ops-token').value = '';
    refresh();
  });
  $('ops-forget-token').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    refresh();
  });
  refresh();
});
