// The package's "node" export: the same API, with connect() sending through node:http/node:https.
export * from './index.js';
export { connect } from './connect-node.js';
