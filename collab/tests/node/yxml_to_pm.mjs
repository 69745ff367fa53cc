// Reads base64 Yjs v1 updates from stdin, one per line. For each, prints one line of JSON:
//   {"doc": <ProseMirror JSON that y-prosemirror reads from the `content` fragment>,
//    "error": null | <why that JSON is not a valid document of the editor's schema (SPEC §5.7)>}
// The packages come from tests/node (npm ci --prefix tests/node); CommonJS builds keep one Yjs instance.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'

const require = createRequire(new URL('../../../tests/node/package.json', import.meta.url))
const Y = require('yjs')
const { yXmlFragmentToProsemirrorJSON } = require('y-prosemirror')
const { Schema, Node } = require('prosemirror-model')

const cell = { attrs: { colspan: { default: 1 }, rowspan: { default: 1 }, colwidth: { default: null } }, content: 'block+' }
const block = (spec) => ({ group: 'block', ...spec })
const schema = new Schema({
  nodes: {
    doc: { content: 'block+' },
    paragraph: block({ content: 'inline*' }),
    heading: block({ attrs: { level: { default: 1 } }, content: 'inline*' }),
    blockquote: block({ content: 'block+' }),
    bulletList: block({ content: 'listItem+' }),
    orderedList: block({ attrs: { start: { default: 1 }, type: { default: null } }, content: 'listItem+' }),
    listItem: { content: 'paragraph block*' },
    taskList: block({ content: 'taskItem+' }),
    taskItem: { attrs: { checked: { default: false } }, content: 'paragraph block*' },
    codeBlock: block({ attrs: { language: { default: null } }, content: 'text*', marks: '', code: true }),
    mermaid: block({ attrs: { code: { default: '' }, scale: { default: 1 }, width: { default: '780px' } }, atom: true }),
    horizontalRule: block({}),
    image: block({ attrs: { src: { default: null }, alt: { default: null }, title: { default: null }, width: { default: null }, height: { default: null } } }),
    table: block({ content: 'tableRow+' }),
    tableRow: { content: '(tableCell | tableHeader)*' },
    tableHeader: cell,
    tableCell: cell,
    text: { group: 'inline' },
    hardBreak: { group: 'inline', inline: true }
  },
  marks: {
    bold: {},
    italic: {},
    strike: {},
    code: { excludes: '_' },
    link: { attrs: { href: { default: null }, target: { default: '_blank' }, rel: { default: 'noopener noreferrer nofollow' }, class: { default: null } } },
    underline: {},
    highlight: { attrs: { color: { default: null } } },
    superscript: {},
    subscript: {},
    textStyle: { attrs: { fontFamily: { default: null } } },
    comment: { attrs: { commentId: { default: null } } }
  }
})

// The binding builds text nodes with Mark.setFrom, which orders marks by schema rank: do the same.
const rank = Object.keys(schema.marks)
const sortMarks = (json) => ({
  ...json,
  ...(json.marks ? { marks: [...json.marks].sort((a, b) => rank.indexOf(a.type) - rank.indexOf(b.type)) } : {}),
  ...(json.content ? { content: json.content.map(sortMarks) } : {})
})

const validate = (json) => {
  try {
    Node.fromJSON(schema, sortMarks(json)).check()
    return null
  } catch (error) {
    return String(error.message || error)
  }
}

const lines = readFileSync(0, 'utf8').split('\n').filter((line) => line.trim() !== '')
for (const line of lines) {
  const ydoc = new Y.Doc()
  Y.applyUpdate(ydoc, Buffer.from(line, 'base64'))
  const doc = yXmlFragmentToProsemirrorJSON(ydoc.getXmlFragment('content'))
  process.stdout.write(JSON.stringify({ doc, error: validate(doc) }) + '\n')
}
