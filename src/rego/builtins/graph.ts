/** graph.reachable and graph.reachable_paths over adjacency objects ({node: array|set of neighbours}). */
import { def, asObject, typeError, RegoObject, RegoSet } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { hashKey } from '../value.js';
import type { HashKey } from '../value.js';

function vertices(v: Value | undefined): Value[] {
  if (Array.isArray(v)) return v;
  if (v instanceof RegoSet) return v.values();
  return [];
}

function initial(name: string, args: Value[]): Value[] {
  const v = args[1]!;
  if (!Array.isArray(v) && !(v instanceof RegoSet)) throw typeError(name, 2, 'array|set', v);
  return vertices(v);
}

/** Breadth-first: every node reachable from the start nodes that appears in the graph (start nodes included). */
function reachable(graph: RegoObject, start: Value[]): RegoSet {
  const queue = [...start];
  const reached = new Map<HashKey, Value>();
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i] as Value;
    const edges = graph.get(node);
    if (edges === undefined) continue;
    for (const nb of vertices(edges)) if (!reached.has(hashKey(nb))) queue.push(nb);
    reached.set(hashKey(node), node);
  }
  return new RegoSet(reached.values());
}

/**
 * OPA's pathBuilder: depth-first; a path ends at a node without edges, before an unknown node, or before a node
 * already expanded on this walk (`reached` is per first edge, as in OPA).
 */
function pathBuilder(graph: RegoObject, root: Value, path: Value[], out: Value[][], reached: Map<HashKey, true>): void {
  const edges = graph.get(root);
  if (edges === undefined) {
    out.push(path);
    return;
  }
  const here = [...path, root];
  const nbs = vertices(edges);
  if (nbs.length === 0) {
    out.push(here);
    return;
  }
  for (const nb of nbs) {
    if (reached.has(hashKey(nb))) out.push(here);
    else {
      reached.set(hashKey(root), true);
      pathBuilder(graph, nb, here, out, reached);
    }
  }
}

export const GRAPH_BUILTINS: BuiltinDef[] = [
  def('graph.reachable', ['object', 'array|set'], 'set', (args) => reachable(asObject('graph.reachable', args, 0), initial('graph.reachable', args))),
  def('graph.reachable_paths', ['object', 'array|set'], 'set', (args) => {
    const graph = asObject('graph.reachable_paths', args, 0);
    const out: Value[][] = [];
    for (const node of initial('graph.reachable_paths', args)) {
      const edges = graph.get(node);
      if (edges === undefined) continue;
      const nbs = vertices(edges);
      if (nbs.length === 0) out.push([node]);
      for (const nb of nbs) pathBuilder(graph, nb, [node], out, new Map([[hashKey(node), true]]));
    }
    return new RegoSet(out);
  }),
];
