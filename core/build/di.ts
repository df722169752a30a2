/**
 * The one gateway to tsyringe. tsyringe refuses to load unless the Reflect metadata polyfill is
 * already installed, so every module that needs the container imports it from here, which
 * loads reflect-metadata first — whatever file a program happens to import first.
 *
 * Tokens carry the type of what they name ({@link Token}), and {@link provide} / {@link get}
 * register and resolve through them, so no resolve site casts.
 *
 * @module
 */
import "reflect-metadata";
import type { DependencyContainer } from "tsyringe";
import { instanceCachingFactory } from "tsyringe";
import type { Token } from "../interfaces/token.ts";

export {
  container as globalContainer,
  type DependencyContainer,
  instanceCachingFactory,
  instancePerContainerCachingFactory,
} from "tsyringe";

/** The service `token` names in `container` (typed by the token). */
export function get<T>(container: DependencyContainer, token: Token<T>): T {
  return container.resolve<T>(token);
}

/** Registers `value` under `token` in `container`. */
export function provideValue<T>(container: DependencyContainer, token: Token<T>, value: T): void {
  container.register<T>(token, { useValue: value });
}

/**
 * Registers under `token` a service `build` makes the first time it is resolved, once per
 * container it was registered in.
 */
export function provide<T>(container: DependencyContainer, token: Token<T>, build: (container: DependencyContainer) => T): void {
  container.register<T>(token, { useFactory: instanceCachingFactory<T>(build) });
}
