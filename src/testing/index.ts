// eyrie/testing: property-test a projection of your own (or eyrie's) on valid generated streams, and
// write example tests as given/when/then stories. Needs fast-check (a peer dependency).
export { arbStream, interpret, type GeneratedStream, type StreamOptions } from './streams.js'
export { StreamBuilder, draftsOf } from './builder.js'
export { scenario, type Outcome, type Projection, type Steps } from './scenario.js'
