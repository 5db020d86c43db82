// Parses a Mermaid flowchart with mermaid's own parser; prints its vertices, edges and subgraphs as JSON.
import { JSDOM } from 'jsdom';
const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window; globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
let text = '';
for await (const chunk of process.stdin) text += chunk;
try {
  await mermaid.parse(text);
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  const db = diagram.db;
  const vertices = [...db.getVertices().values()].map(v => ({ id: v.id, text: v.text }));
  const edges = db.getEdges().map(e => ({ start: e.start, end: e.end, stroke: e.stroke, text: e.text }));
  const subgraphs = db.getSubGraphs().map(s => ({ id: s.id, title: s.title, nodes: s.nodes }));
  console.log(JSON.stringify({ vertices, edges, subgraphs }));
} catch (e) { console.error(String(e.message || e)); process.exit(1); }
