/**
 * Runs the Scaler conformance suite for every bundled scaling policy, with options and load
 * levels that put its thresholds or target between them.
 */
import { noScalerPlugin, targetTrackingScalerPlugin, thresholdScalerPlugin } from "../plugins/scalers/index.ts";
import { scalerSuite } from "../plugin-kit/testing/index.ts";

const levels = { low: 20, steady: 100, high: 400 };
scalerSuite({ plugin: noScalerPlugin });
scalerSuite({ plugin: thresholdScalerPlugin, options: { scaleOutAbove: 200, scaleInBelow: 50 }, levels });
scalerSuite({ plugin: targetTrackingScalerPlugin, options: { target: 100 }, levels });
