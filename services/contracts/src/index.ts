export * from './events.ts';
export * from './roles.ts';
export * from './services.ts';
export * from './text.ts';
