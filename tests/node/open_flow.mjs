// Opening a document the way the MD Creator web client does, with the real @hocuspocus/provider,
// for the Python test suite:
//
//   node open_flow.mjs --http http://127.0.0.1:PORT --ws ws://127.0.0.1:PORT --document ID --token T
//                      [--path /ws/collab] [--seed-after MS] [--ignore-state] [--timeout S]
//
//   1. GET /api/v1/documents/ID; when the body carries `yjs_state_b64`, apply it to a fresh Y.Doc;
//   2. connect a HocuspocusProvider (url = WS + PATH, name = ID, the token) on that Y.Doc;
//   3. --seed-after milliseconds later (50 by default, before the server's sync has arrived), and only
//      when no state was applied, write the body's markdown into the `content` fragment as the editor
//      would (a heading per `#` line, a paragraph per other block);
//   4. wait until the provider has synced and the server acknowledged every update, then print
//      {"event": "result", seeded, applied_state, synced, content, blocks}.
// --ignore-state behaves as a body without the state would (the defect this flow guards against).
import { parseArgs } from 'node:util'

import { HocuspocusProvider } from '@hocuspocus/provider'
import WebSocket from 'ws'
import * as Y from 'yjs'

const { values: options } = parseArgs({
  options: {
    http: { type: 'string' },
    ws: { type: 'string' },
    document: { type: 'string' },
    token: { type: 'string' },
    path: { type: 'string', default: '/ws/collab' },
    'seed-after': { type: 'string', default: '50' },
    'ignore-state': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '10' }
  }
})
if (!options.http || !options.ws || !options.document || !options.token) {
  console.error('usage: node open_flow.mjs --http URL --ws URL --document ID --token TOKEN')
  process.exit(2)
}
const deadline = Date.now() + Number(options.timeout) * 1000
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const response = await fetch(`${options.http}/api/v1/documents/${options.document}`, {
  headers: { Authorization: `Bearer ${options.token}` }
})
if (response.status !== 200) {
  console.error(`GET document answered ${response.status}: ${await response.text()}`)
  process.exit(1)
}
const body = await response.json()
const doc = new Y.Doc()
const state = options['ignore-state'] ? null : body.yjs_state_b64
if (state) {
  Y.applyUpdate(doc, Buffer.from(state, 'base64'))
}

const provider = new HocuspocusProvider({
  url: `${options.ws}${options.path}`,
  name: options.document,
  document: doc,
  token: options.token,
  WebSocketPolyfill: WebSocket
})

// The editor's own seeding: one element per markdown block.
function seed (markdown) {
  const fragment = doc.getXmlFragment('content')
  const blocks = markdown.split(/\n{2,}/).map((block) => block.trim()).filter(Boolean)
  doc.transact(() => {
    for (const block of blocks) {
      const heading = /^(#{1,6}) (.*)$/.exec(block)
      const element = new Y.XmlElement(heading ? 'heading' : 'paragraph')
      if (heading) element.setAttribute('level', heading[1].length)
      element.insert(0, [new Y.XmlText(heading ? heading[2] : block)])
      fragment.push([element])
    }
  })
}

let seeded = false
await sleep(Number(options['seed-after']))
if (!state) {
  seed(body.content)
  seeded = true
}
while (Date.now() < deadline && !(provider.isSynced && provider.unsyncedChanges === 0)) {
  await sleep(25)
}
const fragment = doc.getXmlFragment('content')
process.stdout.write(JSON.stringify({
  event: 'result',
  seeded,
  applied_state: Boolean(state),
  synced: provider.isSynced && provider.unsyncedChanges === 0,
  content: fragment.toString(),
  blocks: fragment.length
}) + '\n')
provider.destroy()
process.exit(0)
