// The HTTP side of a service: app factory, problem+json errors, graceful serving.
export {
  type App,
  type AppOptions,
  createApp,
  problemResponse,
  type ReadinessCheck,
  toProblem,
  validationHook,
} from './app.ts';
export { type Caller, callerOf } from './caller.ts';
export { eventStreamContent, ServerSentEvent } from './event-stream.ts';
export {
  type FieldError,
  isProblemError,
  PROBLEM_BASE,
  PROBLEM_CONTENT_TYPE,
  type ProblemBody,
  ProblemError,
  ProblemSchema,
  type ProblemType,
  problem,
  problemResponses,
  problemTitles,
  problemTypeUri,
} from './problem.ts';
export { type RunningServer, type ServeOptions, type ShutdownHook, serve } from './serve.ts';
export {
  DAPR_API_TOKEN_HEADER,
  fromSidecarOnly,
  MIN_TOKEN_LENGTH,
  PROBE_PATHS,
  sameToken,
} from './sidecar-token.ts';
