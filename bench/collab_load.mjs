// Load generator of the collaboration fan-out benchmark (bench/collab_fanout.py starts it).
//
//   node bench/collab_load.mjs CONFIG.json
//
// CONFIG: {"name", "servers": ["ws://127.0.0.1:PORT", ...], "documents": [{"id", "tokens": [...]}],
//          "rate": edits per second per client, "warmup": s, "seconds": s, "connect_concurrency": n,
//          "drain": s}
// Every token is one client: the stock y-websocket WebsocketProvider (npm `y-websocket`, one
// socket each) on <server>/ws/documents/<id>, servers taken in turn so the clients of one
// document spread over every daphne process. Client k of a document types into paragraph k + 1
// of the `content` XmlFragment (the document is seeded with a heading and one paragraph per
// client): each edit appends a unique word. All clients live in this one process, so one clock
// (performance.now) times an edit from the sender's transaction to the moment each other
// client has applied it: an edit is identified by (Yjs client id, clock after it), and a
// receiver has applied it once its state vector reaches that clock.
//
// Stdout: one JSON object a line: {"event": "connected"}, {"event": "measure_start"},
// {"event": "measure_end"}, then {"event": "result", ...}. The Python wrapper samples the
// server's CPU on the measure lines.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'

const require = createRequire(new URL('../tests/node/package.json', import.meta.url))
const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WebSocket = require('ws')

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'))
process.setMaxListeners(0) // every provider adds an exit listener
const LOOP_RESOLUTION_MS = 2
const print = (object) => process.stdout.write(JSON.stringify(object) + '\n')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const CONNECT_TIMEOUT_MS = 60000
const withTimeout = (promise, ms, describe) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`${describe()} within ${ms / 1000} s`)), ms)
  promise.then((value) => { clearTimeout(timer); resolve(value) }, reject)
})
const now = () => performance.now()

// The provider cannot read the server's JSON text frames (presence events) and throws; a browser
// reports that and goes on, Node's `ws` would end the process. Count them and go on.
let listenerErrors = 0
class BrowserLikeWebSocket extends WebSocket {
  set onmessage (handler) {
    super.onmessage = handler && ((event) => {
      try {
        handler(event)
      } catch {
        listenerErrors += 1
      }
    })
  }

  get onmessage () {
    return super.onmessage
  }
}

const window = { start: Infinity, end: Infinity }
const inWindow = (t) => t >= window.start && t < window.end
const deliveries = [] // ms from an edit to one other client applying it
const completions = [] // ms from an edit to the last other client applying it
let remoteTransactions = 0
let reconnects = 0

class Room {
  constructor (spec) {
    this.id = spec.id
    this.clients = []
    this.byClientId = new Map()
  }
}

class Client {
  constructor (room, index, token, server) {
    this.room = room
    this.index = index
    this.token = token
    this.server = server
    this.doc = new Y.Doc()
    this.fragment = this.doc.getXmlFragment('content')
    this.edits = [] // {clockEnd, sentAt, pending}
    this.cursor = new Map() // sender client id -> index of the sender's next edit not yet applied here
    this.sent = 0
    this.doc.on('afterTransaction', (transaction) => this.onTransaction(transaction))
  }

  connect () {
    this.startedAt = now()
    this.provider = new WebsocketProvider(`${this.server}/ws/documents`, this.room.id, this.doc, {
      params: { token: this.token }, WebSocketPolyfill: BrowserLikeWebSocket, disableBc: true
    })
    this.provider.awareness.setLocalStateField('user', { name: `bench ${this.index}`, color: '#3b82f6' })
    this.closeCodes = []
    this.provider.on('connection-close', (event) => {
      this.closeCodes.push(event ? event.code : 'local') // local: the provider's 30 s silence watchdog
      if (this.syncedAt) reconnects += 1
    })
    return withTimeout(new Promise((resolve) => {
      const onSync = (synced) => {
        if (!synced) return
        this.provider.off('sync', onSync)
        this.syncedAt = now()
        resolve(this.syncedAt - this.startedAt)
      }
      this.provider.on('sync', onSync)
    }), CONNECT_TIMEOUT_MS, () => `client ${this.index} of ${this.room.id} did not sync (close codes ${this.closeCodes})`)
  }

  // Every remote transaction: credit each sender whose clock moved with the edits now covered.
  onTransaction (transaction) {
    if (transaction.origin !== this.provider) return
    const at = now()
    if (inWindow(at)) remoteTransactions += 1
    transaction.afterState.forEach((clock, clientId) => {
      if (clock === transaction.beforeState.get(clientId)) return
      const sender = this.room.byClientId.get(clientId)
      if (!sender || sender === this) return
      let next = this.cursor.get(clientId) || 0
      while (next < sender.edits.length && sender.edits[next].clockEnd <= clock) {
        const edit = sender.edits[next]
        edit.pending -= 1
        if (edit.measured) {
          deliveries.push(at - edit.sentAt)
          if (edit.pending === 0) completions.push(at - edit.sentAt)
        }
        next += 1
      }
      this.cursor.set(clientId, next)
    })
  }

  edit () {
    const paragraph = this.fragment.get(this.index + 1)
    const text = paragraph && paragraph.get(0)
    if (!text) throw new Error(`client ${this.index} of ${this.room.id} has no paragraph ${this.index + 1}`)
    const sentAt = now()
    this.sent += 1
    this.doc.transact(() => text.insert(text.length, ` w${this.index}.${this.sent}`))
    this.edits.push({
      clockEnd: Y.getState(this.doc.store, this.doc.clientID),
      sentAt,
      pending: this.room.clients.length - 1,
      measured: inWindow(sentAt)
    })
  }

  caughtUp () {
    return this.room.clients.every((sender) =>
      sender === this || (this.cursor.get(sender.doc.clientID) || 0) === sender.edits.length)
  }

  stateVector () {
    return Object.fromEntries(Y.decodeStateVector(Y.encodeStateVector(this.doc)))
  }

  destroy () {
    this.provider.destroy()
    this.doc.destroy()
  }
}

const percentiles = (values) => {
  const sorted = Float64Array.from(values).sort()
  const at = (fraction) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] : null
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1] : null }
}

// Run `tasks` (functions returning promises) with at most `limit` in flight.
const pool = async (tasks, limit) => {
  const results = []
  let next = 0
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++
      results[index] = await tasks[index]()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return results
}

const equalVectors = (a, b) => {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].every((key) => a[key] === b[key])
}

// A fresh client per document, after the run: what the server serves now.
const serverView = async (room) => {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`${config.servers[0]}/ws/documents`, room.id, doc, {
    params: { token: room.clients[0].token }, WebSocketPolyfill: BrowserLikeWebSocket, disableBc: true
  })
  await withTimeout(new Promise((resolve) => provider.on('sync', (synced) => synced && resolve())),
    CONNECT_TIMEOUT_MS, () => `a fresh client of ${room.id} did not sync`)
  const view = {
    content: doc.getXmlFragment('content').toString(),
    stateVector: Object.fromEntries(Y.decodeStateVector(Y.encodeStateVector(doc)))
  }
  provider.destroy()
  doc.destroy()
  return view
}

const main = async () => {
  const rooms = config.documents.map((spec) => new Room(spec))
  const clients = []
  let turn = 0
  rooms.forEach((room, r) => {
    config.documents[r].tokens.forEach((token, index) => {
      // Sockets alternate between the processes, or with document affinity (what a proxy hashing the
      // document id does) every socket of a document goes to the same process.
      const slot = config.affinity === 'document' ? r : turn++
      const client = new Client(room, index, token, config.servers[slot % config.servers.length])
      room.clients.push(client)
      clients.push(client)
    })
    room.byClientId = new Map(room.clients.map((client) => [client.doc.clientID, client]))
  })

  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  const connectStart = now()
  const connectTimes = await pool(clients.map((client) => () => client.connect()), config.connect_concurrency)
  const connectWall = (now() - connectStart) / 1000
  print({ event: 'connected', clients: clients.length, seconds: connectWall })

  // Each client types at `rate` edits a second, starting at a random phase.
  const period = 1000 / config.rate
  const begin = now()
  window.start = begin + config.warmup * 1000
  window.end = window.start + config.seconds * 1000
  for (const client of clients) {
    client.nextAt = begin + Math.random() * period
    const tick = () => {
      if (now() >= window.end) return
      client.edit()
      client.nextAt += period // a fixed schedule: a late tick does not shift the later ones
      client.timer = setTimeout(tick, Math.max(0, client.nextAt - now()))
    }
    client.timer = setTimeout(tick, client.nextAt - now())
  }
  await sleep(window.start - now())
  const cpuStart = process.cpuUsage()
  loopDelay.enable()
  print({ event: 'measure_start' })
  await sleep(window.end - now())
  print({ event: 'measure_end' })
  loopDelay.disable()
  const cpu = process.cpuUsage(cpuStart)
  clients.forEach((client) => clearTimeout(client.timer))

  // Drain: wait until every client has applied every edit, then compare the documents.
  const drainStart = now()
  while (!clients.every((client) => client.caughtUp()) && now() - drainStart < config.drain * 1000) await sleep(20)
  const drained = (now() - drainStart) / 1000
  await sleep(200) // awareness and stragglers
  const rooms_ = []
  for (const room of rooms) {
    const first = room.clients[0]
    const vector = first.stateVector()
    rooms_.push({
      id: room.id,
      caught_up: room.clients.every((client) => client.caughtUp()),
      equal: room.clients.every((client) => client.fragment.toString() === first.fragment.toString() &&
        equalVectors(client.stateVector(), vector)),
      content: first.fragment.toString(),
      state_vector: vector
    })
  }
  const views = await pool(rooms.map((room) => () => serverView(room)), config.connect_concurrency)
  views.forEach((view, i) => {
    rooms_[i].server_equal = view.content === rooms_[i].content && equalVectors(view.stateVector, rooms_[i].state_vector)
  })
  const edits = clients.reduce((sum, client) => sum + client.edits.filter((edit) => edit.measured).length, 0)
  const seconds = config.seconds
  print({
    event: 'result',
    name: config.name,
    clients: clients.length,
    documents: rooms.length,
    connect: { ...percentiles(connectTimes), wall_seconds: connectWall },
    edits: { measured: edits, per_second: edits / seconds, total: clients.reduce((sum, c) => sum + c.edits.length, 0) },
    delivery_ms: percentiles(deliveries),
    fanout_ms: percentiles(completions),
    deliveries_per_second: deliveries.length / seconds,
    remote_transactions_per_second: remoteTransactions / seconds,
    client: {
      cpu_seconds: (cpu.user + cpu.system) / 1e6,
      // The histogram holds whole timer intervals: the lag is what exceeds the resolution.
      loop_delay_ms: Object.fromEntries([['p50', loopDelay.percentile(50)], ['p99', loopDelay.percentile(99)],
        ['max', loopDelay.max]].map(([key, value]) => [key, Math.max(0, value / 1e6 - LOOP_RESOLUTION_MS)]))
    },
    drain_seconds: drained,
    reconnects,
    close_codes: clients.flatMap((client) => client.closeCodes).reduce((counts, code) => {
      counts[code] = (counts[code] || 0) + 1
      return counts
    }, {}),
    stopped_clients: clients.filter((client) => !client.provider.shouldConnect).length,
    text_frames_refused_by_provider: listenerErrors,
    converged: rooms_.every((room) => room.caught_up && room.equal),
    server_equal: rooms_.every((room) => room.server_equal),
    rooms: rooms_.map(({ id, caught_up: caughtUp, equal, server_equal: serverEqual, state_vector: sv }) =>
      ({ id, caught_up: caughtUp, equal, server_equal: serverEqual, state_vector: sv }))
  })
  clients.forEach((client) => client.destroy())
}

main()
  .catch((error) => {
    print({ event: 'error', error: String(error && error.stack ? error.stack : error) })
    process.exitCode = 1
  })
  .finally(() => setTimeout(() => process.exit(), 300))
