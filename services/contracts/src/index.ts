export * from './events.ts';
export * from './services.ts';
export * from './text.ts';
