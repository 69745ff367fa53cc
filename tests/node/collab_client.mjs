// Real npm clients (y-websocket's WebsocketProvider, @hocuspocus/provider) on one document,
// for the Python test suite.
//
//   node collab_client.mjs --server ws://127.0.0.1:PORT --document ID --client KIND=TOKEN[,readonly] ...
//                          [--mode edit|read] [--tag TEXT] [--await TEXT ...] [--settle MS] [--timeout S]
//                          [--hocuspocus-path /ws/collab]
//
// KIND is `ywebsocket` (WebsocketProvider on <server>/ws/documents, room = document id) or
// `hocuspocus` (HocuspocusProvider on <server><hocuspocus-path>, name = document id, token option).
// A client marked `readonly` edits like the others, but nobody is expected to see its edit.
//
// Mode `edit` (default), every step waiting until all clients agree or the timeout passes:
//   1. connect every client and wait until each has synced;
//   2. each client appends a paragraph "<tag>-c<i>-insert" to the `content` XmlFragment;
//   3. when --await is given, print {"event": "ready"} and wait until every client shows
//      each awaited text (written elsewhere, e.g. through REST);
//   4. each client appends " <tag>-c<i>-append" to the text of its own paragraph;
//   5. wait --settle milliseconds (refused edits get time to travel, if they wrongly do),
//      then print {"event": "result", ...}: each client's final `content` as a string,
//      whether all writers converged and whether all are equal.
// Mode `read`: connect, wait for the sync and the --await texts, print the result.
//
// Hocuspocus writers count as converged only when the provider reports no unsynced changes,
// i.e. the server acknowledged every update with SyncStatus. Output goes to stdout, one JSON
// object a line; the exit code is 0 whenever a result was printed.
import { parseArgs } from 'node:util'

import { HocuspocusProvider } from '@hocuspocus/provider'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

const { values: options } = parseArgs({
  options: {
    server: { type: 'string' },
    document: { type: 'string' },
    client: { type: 'string', multiple: true, default: [] },
    mode: { type: 'string', default: 'edit' },
    tag: { type: 'string', default: 'm' + process.pid },
    await: { type: 'string', multiple: true, default: [] },
    settle: { type: 'string', default: '0' },
    timeout: { type: 'string', default: '10' },
    'hocuspocus-path': { type: 'string', default: '/ws/collab' }
  }
})
if (!options.server || !options.document || options.client.length === 0) {
  console.error('usage: node collab_client.mjs --server ws://HOST:PORT --document ID --client KIND=TOKEN[,readonly] ...')
  process.exit(2)
}
const deadline = Date.now() + Number(options.timeout) * 1000
const print = (object) => process.stdout.write(JSON.stringify(object) + '\n')

// In a browser an exception thrown by a socket listener is reported and the socket goes on;
// Node's `ws` would let it end the process. Record such errors per client and go on.
const browserLikeSocket = (errors) => class extends WebSocket {
  set onmessage (handler) {
    super.onmessage = handler && ((event) => guarded(errors, handler, event))
  }

  get onmessage () {
    return super.onmessage
  }

  addEventListener (type, handler, ...rest) {
    const wrapped = type === 'message' ? (event) => guarded(errors, handler, event) : handler
    return super.addEventListener(type, wrapped, ...rest)
  }
}

const guarded = (errors, handler, event) => {
  try {
    handler(event)
  } catch (error) {
    const frame = typeof event.data === 'string' ? 'text frame' : 'binary frame'
    errors.push(`${frame}: ${error && error.message ? error.message : error}`)
  }
}

class Client {
  constructor (index, spec) {
    const [kind, rest = ''] = spec.split(/=(.*)/s)
    const [token, ...flags] = rest.split(',')
    this.index = index
    this.kind = kind
    this.readonly = flags.includes('readonly')
    this.doc = new Y.Doc()
    this.fragment = this.doc.getXmlFragment('content')
    this.events = []
    this.errors = []
    this.closes = []
    this.scope = null
    this.authFailure = null
    const WebSocketPolyfill = browserLikeSocket(this.errors)
    if (kind === 'ywebsocket') {
      this.provider = new WebsocketProvider(`${options.server}/ws/documents`, options.document, this.doc, {
        // `events` opts in to the JSON events (decision 38), which the stock provider cannot read.
        params: flags.includes('events') ? { token, events: 'json' } : { token }, WebSocketPolyfill, disableBc: true
      })
      this.provider.on('connection-close', (event) => event && this.closes.push(event.code))
      // JSON events are text frames; the stock provider does not read them (see errors).
      const record = (event) => typeof event.data === 'string' && this.events.push(JSON.parse(event.data))
      this.provider.on('status', ({ status }) => {
        if (status === 'connecting' && this.provider.ws) this.provider.ws.addEventListener('message', record)
      })
      if (this.provider.ws) this.provider.ws.addEventListener('message', record)
    } else if (kind === 'hocuspocus') {
      this.provider = new HocuspocusProvider({
        url: `${options.server}${options['hocuspocus-path']}`, name: options.document, document: this.doc, token, WebSocketPolyfill,
        onAuthenticated: ({ scope }) => { this.scope = scope },
        onAuthenticationFailed: ({ reason }) => { this.authFailure = reason },
        onStateless: ({ payload }) => this.events.push(JSON.parse(payload)),
        onClose: ({ event }) => this.closes.push(event.code)
      })
    } else {
      throw new Error(`unknown client kind ${kind}`)
    }
  }

  get marker () {
    return `${options.tag}-c${this.index}-insert`
  }

  get tail () {
    return `${options.tag}-c${this.index}-append`
  }

  get synced () {
    return this.kind === 'hocuspocus' ? this.provider.isSynced : this.provider.synced
  }

  // Hocuspocus counts updates the server has not acknowledged; y-websocket has no such count.
  get unsynced () {
    return this.kind === 'hocuspocus' ? this.provider.unsyncedChanges : null
  }

  get content () {
    return this.fragment.toString()
  }

  insertParagraph () {
    this.doc.transact(() => {
      const paragraph = new Y.XmlElement('paragraph')
      this.fragment.insert(this.fragment.length, [paragraph])
      const text = new Y.XmlText()
      paragraph.insert(0, [text])
      text.insert(0, this.marker)
    })
  }

  // The paragraph is found by its text: a REST write may have replaced blocks around it.
  appendToOwnParagraph () {
    const paragraph = this.fragment.toArray().find((node) => node.toString().includes(this.marker))
    if (!paragraph) throw new Error(`client ${this.index} lost its paragraph`)
    const text = paragraph.get(0)
    text.insert(text.length, ' ' + this.tail)
  }

  report () {
    return {
      index: this.index,
      kind: this.kind,
      readonly: this.readonly,
      synced: this.synced,
      scope: this.scope,
      auth_failure: this.authFailure,
      unsynced: this.unsynced,
      content: this.content,
      events: this.events,
      listener_errors: this.errors,
      close_codes: this.closes
    }
  }

  destroy () {
    this.provider.destroy()
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Poll `predicate` every 10 ms until it holds (true) or the deadline passes (false).
const until = async (predicate) => {
  while (!predicate()) {
    if (Date.now() > deadline) return false
    await sleep(10)
  }
  return true
}

const clients = options.client.map((spec, index) => new Client(index, spec))
const writers = clients.filter((client) => !client.readonly)
const seesAll = (texts) => clients.every((client) => texts.every((text) => client.content.includes(text)))
const acknowledged = () => writers.every((client) => client.unsynced === null || client.unsynced === 0)
const missing = (texts) => clients.map((client) => texts.filter((text) => !client.content.includes(text)))

const run = async () => {
  const steps = {}
  steps.synced = await until(() => clients.every((client) => client.synced || client.authFailure))
  let expected = [...options.await]
  if (options.mode === 'edit') {
    clients.forEach((client) => client.insertParagraph())
    expected = writers.map((client) => client.marker)
    steps.inserted = await until(() => seesAll(expected) && acknowledged())
    if (options.await.length) {
      print({ event: 'ready', contents: clients.map((client) => client.content) })
      expected = [...expected, ...options.await]
      steps.awaited = await until(() => seesAll(expected))
    }
    clients.forEach((client) => client.appendToOwnParagraph())
    expected = [...expected, ...writers.map((client) => client.tail)]
    steps.appended = await until(() => seesAll(expected) && acknowledged())
  } else {
    steps.awaited = await until(() => seesAll(expected))
    // Readers say when they are synced, so a test can act on the server meanwhile (settle).
    print({ event: 'ready', contents: clients.map((client) => client.content) })
  }
  await sleep(Number(options.settle))
  const contents = writers.map((client) => client.content)
  print({
    event: 'result',
    steps,
    converged: Object.values(steps).every(Boolean) && seesAll(expected) && acknowledged(),
    equal: clients.every((client) => client.content === clients[0].content),
    writers_equal: contents.every((content) => content === contents[0]),
    expected,
    missing: missing(expected),
    clients: clients.map((client) => client.report())
  })
}

run()
  .catch((error) => {
    print({ event: 'error', error: String(error && error.stack ? error.stack : error) })
    process.exitCode = 1
  })
  .finally(() => {
    clients.forEach((client) => client.destroy())
    // Providers keep timers; leave once the close frames are out.
    setTimeout(() => process.exit(), 100)
  })
