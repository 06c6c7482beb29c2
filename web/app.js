// Parley's reference browser client: plain ES module, no framework, no build step.
// It shows every call a browser front-end makes: a token, sessions, sends with a fresh
// Idempotency-Key, the reply streamed through the native EventSource with a stream ticket,
// and history pages. Served from Parley's own origin; from another origin the same calls work
// once that origin is listed in CORS_ORIGINS (set API_BASE below to Parley's address).

const API_BASE = location.origin;
const TOKEN_KEY = 'parley.token';
const PAGE_SIZE = 20;
const STREAM_EVENTS = [
  'message.created',
  'reply.delta',
  'reply.completed',
  'reply.failed',
  'reply.stopped',
  'reply.superseded',
  'events.missed',
];

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  sessionId: null,
  nextCursor: null,
  nextBeforeSeq: null,
  /** The open EventSource and the id of the last event it delivered (to resume after a new ticket). */
  stream: null,
  lastEventId: null,
  /** messageId -> the attempt whose deltas are shown (a retried reply restarts its text). */
  attempts: new Map(),
};

class ApiError extends Error {
  constructor(status, body, requestId) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.requestId = body?.requestId ?? requestId;
  }
}

/** One JSON call: the bearer token on every request, errors thrown with their code and request id. */
async function api(method, path, { body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (state.token) {
    init.headers.Authorization = `Bearer ${state.token}`;
  }
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${API_BASE}${path}`, init);
  const text = await response.text();
  const json = text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined;
  if (!response.ok) {
    throw new ApiError(response.status, json, response.headers.get('X-Request-Id'));
  }
  return json;
}

function report(message, kind = 'info') {
  $('status').textContent = message;
  $('status').dataset.kind = kind;
}

function reportError(error) {
  if (error instanceof ApiError) {
    report(`${error.status} ${error.code ?? ''} ${error.message} (request ${error.requestId})`, 'error');
    if (error.status === 401) {
      signOut();
    }
  } else {
    report(String(error), 'error');
  }
}

/** The token's subject, read from its payload for display only (the server verifies it). */
function subjectOf(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload)).sub;
  } catch {
    return '?';
  }
}

// --- Token -----------------------------------------------------------------------------------

function useToken(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  showSignedIn();
  void loadSessions(true).then(openFromLocation).catch(reportError);
}

function signOut() {
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  closeStream();
  $('sessions').replaceChildren();
  $('messages').replaceChildren();
  showSignedIn();
}

function showSignedIn() {
  const signedIn = Boolean(state.token);
  $('sign-in').hidden = signedIn;
  $('whoami').hidden = !signedIn;
  $('sign-out').hidden = !signedIn;
  $('new-session').disabled = !signedIn;
  $('whoami').textContent = signedIn ? `Signed in as ${subjectOf(state.token)}` : '';
}

/** Dev tokens exist in embedded mode (AUTH_DEV_TOKENS=true); anywhere else, paste a real JWT. */
async function getDevToken(event) {
  event.preventDefault();
  try {
    const issued = await api('POST', '/v1/auth/dev-token', { body: { userId: $('user-id').value.trim() } });
    useToken(issued.token);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      report('Dev tokens are off on this server: paste a bearer token instead.', 'error');
    } else {
      reportError(error);
    }
  }
}

// --- Sessions --------------------------------------------------------------------------------

async function loadSessions(reset) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (!reset && state.nextCursor) {
    query.set('cursor', state.nextCursor);
  }
  const page = await api('GET', `/v1/sessions?${query}`);
  if (reset) {
    $('sessions').replaceChildren();
  }
  for (const session of page.items) {
    $('sessions').append(sessionItem(session));
  }
  state.nextCursor = page.nextCursor;
  $('more-sessions').hidden = page.nextCursor === null;
}

function sessionItem(session) {
  const item = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.dataset.sessionId = session.id;
  button.textContent = session.title ?? 'Untitled';
  button.addEventListener('click', () => {
    location.hash = `#/sessions/${session.id}`;
  });
  item.append(button);
  return item;
}

async function createSession() {
  const session = await api('POST', '/v1/sessions', {
    body: { title: `Chat of ${new Date().toLocaleString()}` },
  });
  $('sessions').prepend(sessionItem(session));
  location.hash = `#/sessions/${session.id}`;
}

/** The open session lives in the address (#/sessions/<id>), so a reload comes back to it. */
function openFromLocation() {
  const match = /^#\/sessions\/([0-9a-f-]{36})$/.exec(location.hash);
  if (match && state.token && match[1] !== state.sessionId) {
    void openSession(match[1]).catch(reportError);
  }
}

async function openSession(sessionId) {
  closeStream();
  state.sessionId = sessionId;
  state.lastEventId = null;
  state.attempts.clear();
  for (const button of document.querySelectorAll('#sessions button')) {
    button.setAttribute('aria-current', String(button.dataset.sessionId === sessionId));
  }
  const session = await api('GET', `/v1/sessions/${sessionId}`);
  $('session-title').textContent = session.title ?? 'Untitled';
  $('messages').replaceChildren();
  state.nextBeforeSeq = null;
  // Following first, then the history: nothing that happens in between is missed.
  await follow(sessionId).catch(reportError);
  await loadOlder(true);
  $('content').disabled = false;
  $('send').disabled = false;
  $('content').focus();
}

// --- History ---------------------------------------------------------------------------------

/** One page of history in ascending seq; "older" pages go before what is shown. */
async function loadOlder(first) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (!first && state.nextBeforeSeq !== null) {
    query.set('beforeSeq', String(state.nextBeforeSeq));
  }
  const page = await api('GET', `/v1/sessions/${state.sessionId}/messages?${query}`);
  const items = page.items.filter((message) => !findMessage(message.id)).map(messageItem);
  $('messages').prepend(...items);
  state.nextBeforeSeq = page.nextBeforeSeq;
  $('older').hidden = page.nextBeforeSeq === null;
  if (first) {
    $('conversation').scrollTop = $('conversation').scrollHeight;
  }
}

function findMessage(id) {
  return document.querySelector(`#messages li[data-id="${CSS.escape(id)}"]`);
}

function messageItem(message) {
  const item = document.createElement('li');
  item.dataset.id = message.id;
  item.dataset.deltas = '0';
  const content = document.createElement('div');
  content.className = 'content';
  const meta = document.createElement('div');
  meta.className = 'meta';
  item.append(content, meta);
  renderMessage(item, message);
  return item;
}

function renderMessage(item, message) {
  item.className = message.role;
  item.dataset.seq = String(message.seq);
  item.dataset.status = message.status;
  item.querySelector('.content').textContent = message.content;
  item.querySelector('.meta').textContent = `#${message.seq} ${message.role} · ${message.status}`;
}

/** Adds or updates a message in seq order. */
function upsertMessage(message) {
  const existing = findMessage(message.id);
  if (existing) {
    renderMessage(existing, message);
    return existing;
  }
  const item = messageItem(message);
  const after = [...document.querySelectorAll('#messages li')].find((li) => Number(li.dataset.seq) > message.seq);
  $('messages').insertBefore(item, after ?? null);
  $('conversation').scrollTop = $('conversation').scrollHeight;
  return item;
}

// --- Sending ---------------------------------------------------------------------------------

/** A fresh Idempotency-Key per message: a retried request is stored once, a new message always. */
async function send(event) {
  event.preventDefault();
  const content = $('content').value.trim();
  if (!content || !state.sessionId) {
    return;
  }
  $('send').disabled = true;
  try {
    const sent = await api('POST', `/v1/sessions/${state.sessionId}/messages`, {
      body: { content },
      headers: { 'Idempotency-Key': crypto.randomUUID() },
    });
    upsertMessage(sent.message);
    upsertMessage(sent.reply);
    $('content').value = '';
    report('Sent; the reply streams in below.');
  } catch (error) {
    reportError(error);
  } finally {
    $('send').disabled = false;
  }
}

// --- Streaming -------------------------------------------------------------------------------

/**
 * The native EventSource cannot send an Authorization header: it gets a short-lived stream ticket
 * in the query instead. It reconnects by itself (with Last-Event-ID) while the ticket is valid;
 * once the server refuses it (expired), a new ticket resumes after the last event seen.
 */
async function follow(sessionId) {
  const { ticket } = await api('POST', `/v1/sessions/${sessionId}/events/tickets`);
  if (state.sessionId !== sessionId) {
    return;
  }
  const url = new URL(`${API_BASE}/v1/sessions/${sessionId}/events`);
  url.searchParams.set('ticket', ticket);
  if (state.lastEventId) {
    url.searchParams.set('lastEventId', state.lastEventId);
  }
  const source = new EventSource(url);
  state.stream = source;
  source.addEventListener('open', () => setStreamState('live'));
  for (const type of STREAM_EVENTS) {
    source.addEventListener(type, (event) => {
      state.lastEventId = event.lastEventId || state.lastEventId;
      onStreamEvent(type, JSON.parse(event.data));
    });
  }
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED && state.stream === source) {
      setStreamState('reconnecting');
      setTimeout(() => {
        if (state.stream === source) {
          void follow(sessionId).catch(reportError);
        }
      }, 1000);
    } else {
      setStreamState('reconnecting');
    }
  });
}

function closeStream() {
  state.stream?.close();
  state.stream = null;
  setStreamState('');
}

function setStreamState(text) {
  $('stream-state').textContent = text;
}

function onStreamEvent(type, data) {
  switch (type) {
    case 'message.created':
      upsertMessage(data.message);
      if (data.reply) {
        upsertMessage(data.reply);
      }
      break;
    case 'reply.delta':
      appendDelta(data);
      break;
    case 'reply.completed':
    case 'reply.stopped':
      upsertMessage(data.message);
      break;
    case 'reply.failed':
    case 'reply.superseded': {
      const item = findMessage(data.messageId);
      if (item) {
        item.dataset.status = type === 'reply.failed' ? 'failed' : 'superseded';
        item.querySelector('.meta').textContent += ` · ${data.code ?? item.dataset.status}`;
      }
      break;
    }
    case 'events.missed':
      // Events after our last one are gone: the history is the truth.
      $('messages').replaceChildren();
      void loadOlder(true).catch(reportError);
      break;
  }
}

function appendDelta({ messageId, delta, attempt = 1 }) {
  const item = findMessage(messageId);
  if (!item || ['complete', 'failed', 'stopped', 'superseded'].includes(item.dataset.status)) {
    return;
  }
  const content = item.querySelector('.content');
  if ((state.attempts.get(messageId) ?? attempt) !== attempt) {
    content.textContent = '';
  }
  state.attempts.set(messageId, attempt);
  content.textContent += delta;
  item.dataset.status = 'streaming';
  item.dataset.deltas = String(Number(item.dataset.deltas) + 1);
}

// --- Wiring ----------------------------------------------------------------------------------

$('sign-in').addEventListener('submit', (event) => void getDevToken(event));
$('use-token').addEventListener('click', () => {
  const token = $('pasted-token').value.trim();
  if (token) {
    useToken(token);
  }
});
$('sign-out').addEventListener('click', signOut);
$('new-session').addEventListener('click', () => void createSession().catch(reportError));
$('more-sessions').addEventListener('click', () => void loadSessions(false).catch(reportError));
$('older').addEventListener('click', () => void loadOlder(false).catch(reportError));
$('composer').addEventListener('submit', (event) => void send(event));
$('content').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});
window.addEventListener('hashchange', openFromLocation);

showSignedIn();
if (state.token) {
  void loadSessions(true).then(openFromLocation).catch(reportError);
}
