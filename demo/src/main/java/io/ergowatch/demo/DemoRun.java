package io.ergowatch.demo;

import io.ergowatch.sim.GradientDescent;
import java.util.Map;

/**
 * One run of the demo: a real (S)GD on a known objective, so what the monitor sees is what
 * that optimiser does, not a scripted curve.
 *
 * @param behaviour one line for the logs and the README
 */
public record DemoRun(String run, String job, String behaviour, Map<String, String> labels, GradientDescent trainer) {}
