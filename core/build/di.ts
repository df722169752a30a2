/**
 * The one gateway to tsyringe. tsyringe refuses to load unless the Reflect metadata polyfill is
 * already installed, so every module that needs the container imports it from here, which
 * loads reflect-metadata first — whatever file a program happens to import first.
 *
 * @module
 */
import "reflect-metadata";

export {
  type DependencyContainer,
  container as globalContainer,
  instanceCachingFactory,
  instancePerContainerCachingFactory,
} from "tsyringe";
