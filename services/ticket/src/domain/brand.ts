/** A string that is known to be a particular kind of id; only the code that checks it creates one. */
export type Brand<T, Name extends string> = T & { readonly __brand: Name };
