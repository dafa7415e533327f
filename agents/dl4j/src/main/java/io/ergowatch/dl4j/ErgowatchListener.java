package io.ergowatch.dl4j;

import io.ergowatch.agent.ErgowatchAgent;
import io.ergowatch.protocol.Bye;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Deeplearning4j {@code TrainingListener} that measures each iteration of a
 * {@link MultiLayerNetwork} or {@link ComputationGraph} and streams it to the ergowatch monitor
 * through an {@link ErgowatchAgent}.
 *
 * <pre>{@code
 * ErgowatchListener listener = ErgowatchListener.builder().run("mlp-1").geometryEvery(10).build();
 * net.addListeners(listener);
 * net.fit(data, epochs);
 * listener.close();   // sends what is buffered, then BYE
 * }</pre>
 *
 * <h2>Timing (measured on 1.0.0-M2.1, pinned by the tests)</h2>
 * In {@code onGradientCalculation} the model's gradient view holds the raw gradient, summed over
 * the minibatch, before regularization and the updater, and {@code params()} holds w_t: g_t =
 * raw / batch size (raw when the configuration is not mini-batch). The updater then rewrites the
 * same view in place, and the optimizer subtracts it: in {@code iterationDone} the view holds the
 * step s_t actually applied and {@code params()} holds w_{t+1} = w_t − s_t, so u_t = −s_t for every
 * updater (SGD, momentum, Adam...). Every series of iteration t is therefore sent in one record at
 * {@code iterationDone}, with step = the model's iteration count. (Layer constraints are applied
 * by DL4J after {@code iterationDone}; their correction is not part of u_t.)
 *
 * <h2>What it sends</h2>
 * loss ({@code model.score()}), lr (from the layers' updaters at this iteration and epoch; when
 * layers differ, the largest, said once in the log), batch_size, and the geometry of
 * {@link GeometryAccumulator} at the chosen {@link Level} (memory: see there), and with
 * {@link Builder#layerGradNorms} the user series layer.&lt;name&gt;.grad_sq. This class only
 * extracts the views and enqueues: the maths is in {@link GeometryAccumulator}.
 *
 * <p>The listener never throws into training: a failure of a measurement is logged once, with its
 * stack trace, and measuring stops (loss, lr and batch size keep flowing). Call {@link #close()}
 * at the end of training.
 */
public final class ErgowatchListener extends BaseTrainingListener implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ErgowatchListener.class);

  /** Where the values of a step go: the agent, or a test's capture. */
  interface Sink extends AutoCloseable {
    /**
     * Called once, at the first callback, before any record: labels read from the model (see
     * {@link ErgowatchListener#inferLabels}); the agent sink starts its agent here.
     */
    default void start(Map<String, String> inferredLabels) { }

    void record(long step, int[] ids, double[] values, int count);

    @Override
    void close();
  }

  private final Sink sink;
  private final String runName;
  private final StepRecord record;
  private final GeometryAccumulator geometry;
  private final Predicate<String> layerFilter;
  private final int idLoss, idLr, idBatch;
  private final List<String> normLayers;
  private final int[] idLayerGradSq;
  private final List<INDArray> oneView = new ArrayList<>(1);
  private boolean warnedMissingLayer;
  private final int sharpnessEvery;
  private final int sharpnessIterations;
  private final org.nd4j.linalg.dataset.DataSet sharpnessProbe;
  private final int idSharpness;
  private Sharpness sharpness;
  private INDArray adamScale;
  private boolean warnedPrecondition;
  private Model probeNet;
  private final List<INDArray> wSegments = new ArrayList<>();
  private final List<INDArray> gSegments = new ArrayList<>();
  private boolean broken;
  private boolean started;
  private List<BaseLayer> trainableLayers;
  private boolean warnedLr;
  private boolean warnedOrder;
  private boolean pending;
  private long pendingStep = -1;
  private int pendingBatch;

  private ErgowatchListener(Builder b, Sink sink, StepRecord record) {
    this.sink = sink;
    this.record = record;
    this.runName = b.run;
    this.layerFilter = b.layerFilter;
    this.geometry = new GeometryAccumulator(b.level, b.geometryEvery, b.emaHorizon, b.projections, b.seed,
        b.refEvery, b.refLag, b.projectionCacheBytes, record);
    this.idLoss = record.id("loss");
    this.idLr = record.id("lr");
    this.idBatch = record.id("batch_size");
    this.sharpnessEvery = b.sharpnessEvery;
    this.sharpnessIterations = b.sharpnessIterations;
    this.sharpnessProbe = b.sharpnessProbe;
    this.idSharpness = record.id("sharpness");
    this.normLayers = List.copyOf(b.normLayers);
    this.idLayerGradSq = new int[normLayers.size()];
    for (int i = 0; i < idLayerGradSq.length; i++) {
      idLayerGradSq[i] = record.id(layerSeries(normLayers.get(i)));
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Every series this listener may send, in the order the HELLO declares them. */
  static List<String> seriesNames(Level level, int projections) {
    return seriesNames(level, projections, List.of());
  }

  static List<String> seriesNames(Level level, int projections, List<String> normLayers) {
    return seriesNames(level, projections, normLayers, false);
  }

  static List<String> seriesNames(Level level, int projections, List<String> normLayers, boolean sharpness) {
    List<String> names = new ArrayList<>(List.of("loss", "lr", "batch_size"));
    names.addAll(GeometryAccumulator.seriesNames(level, projections));
    if (sharpness) {
      names.add("sharpness");
    }
    for (String layer : normLayers) {
      names.add(layerSeries(layer));
    }
    return names;
  }

  /**
   * The user series of a layer's squared gradient norm: {@code layer.<name>.grad_sq}, the name
   * lower-cased with every character outside [a-z0-9_] replaced by '_'.
   */
  static String layerSeries(String layer) {
    StringBuilder b = new StringBuilder("layer.");
    for (char ch : layer.toLowerCase(java.util.Locale.ROOT).toCharArray()) {
      b.append((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ? ch : '_');
    }
    String name = b.append(".grad_sq").toString();
    if (name.length() > 64) {
      throw new IllegalArgumentException("series " + name + " is longer than 64 characters: shorten the layer name");
    }
    return name;
  }

  // ---- callbacks --------------------------------------------------------------------------------

  @Override
  public void onGradientCalculation(Model model) {
    start(model);
    pending = false;
    if (broken) {
      return;
    }
    try {
      long step = iteration(model);
      int batch = model.batchSize();
      boolean miniBatch = model.conf() == null || model.conf().isMiniBatch();
      double scale = miniBatch && batch > 0 ? 1.0 / batch : 1.0;
      segments(model);
      record.clear();
      geometry.gradient(step, wSegments, gSegments, scale, record);
      if (!normLayers.isEmpty() && geometry.isGeometryStep(step)) {
        layerNorms(model, scale);
      }
      pending = true;
      pendingStep = step;
      pendingBatch = batch;
    } catch (RuntimeException e) {
      fail("onGradientCalculation", e);
    }
  }

  @Override
  public void iterationDone(Model model, int iteration, int epoch) {
    start(model);
    if (!pending || pendingStep != iteration) {
      if (pending && !warnedOrder) {
        warnedOrder = true;
        log.warn("ergowatch: iterationDone({}) after onGradientCalculation of iteration {}: geometry of that"
            + " iteration skipped", iteration, pendingStep);
      }
      geometry.abandon();
      record.clear();
    } else if (!broken) {
      try {
        segments(model); // same views; the gradient one now holds the applied step
        geometry.update(iteration, wSegments, gSegments, record);
        if (sharpnessEvery > 0 && iteration % sharpnessEvery == 0) {
          record.put(idSharpness, sharpness(model, iteration));
        }
      } catch (RuntimeException e) {
        fail("iterationDone", e);
        record.clear();
      }
    }
    pending = false;
    record.put(idLoss, model.score());
    record.put(idLr, learningRate(model, iteration, epoch));
    record.put(idBatch, model.batchSize());
    sink.record(iteration, record.ids(), record.values(), record.count());
    record.clear();
  }

  private void start(Model model) {
    if (started) {
      return;
    }
    started = true;
    Map<String, String> inferred;
    try {
      inferred = new LinkedHashMap<>(inferLabels(model));
    } catch (RuntimeException e) {
      log.warn("ergowatch: cannot read the optimizer from the model ({}); no optimizer label", e.toString());
      inferred = new LinkedHashMap<>();
    }
    // The parameter count: the monitor treats runs of one job as a learning-rate sweep only when
    // they train the same model (JobAnalytics).
    inferred.put("params", Long.toString(model.numParams()));
    try {
      sink.start(inferred);
    } catch (RuntimeException e) { // e.g. the agent's spool directory cannot be created
      log.error("ergowatch: cannot start the agent of run {}; this run is not monitored: {}", runName, e.getMessage());
    }
  }

  /**
   * Labels the monitor reads from the model's updaters when every layer with parameters uses the
   * same one: {@code optimizer} (adam, nesterov, sgd, or the updater's name in lower case) and
   * {@code beta1} or {@code momentum}: the monitor's critical sharpness depends on them (math.md
   * §4). Empty when the layers differ.
   */
  static Map<String, String> inferLabels(Model model) {
    IUpdater only = null;
    for (BaseLayer bl : trainable(model)) {
      IUpdater u = bl.getIUpdater();
      if (u == null) {
        continue;
      }
      if (only != null && !only.getClass().equals(u.getClass())) {
        return Map.of();
      }
      only = u;
    }
    Map<String, String> out = new LinkedHashMap<>();
    if (only instanceof org.nd4j.linalg.learning.config.Adam a) {
      out.put("optimizer", "adam");
      out.put("beta1", Double.toString(a.getBeta1()));
    } else if (only instanceof org.nd4j.linalg.learning.config.Nesterovs n) {
      out.put("optimizer", "nesterov");
      out.put("momentum", Double.toString(n.getMomentum()));
    } else if (only instanceof org.nd4j.linalg.learning.config.Sgd) {
      out.put("optimizer", "sgd");
    } else if (only != null) {
      out.put("optimizer", only.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT));
    }
    return out;
  }

  /** Sends what is buffered, then BYE (completed). */
  @Override
  public void close() {
    sink.close();
  }

  // ---- extraction -------------------------------------------------------------------------------

  private static long iteration(Model model) {
    if (model instanceof MultiLayerNetwork m) {
      return m.getIterationCount();
    }
    if (model instanceof ComputationGraph g) {
      return g.getIterationCount();
    }
    throw new IllegalArgumentException("ergowatch supports MultiLayerNetwork and ComputationGraph, not "
        + model.getClass().getName());
  }

  private static Layer[] layers(Model model) {
    if (model instanceof MultiLayerNetwork m) {
      return m.getLayers();
    }
    return ((ComputationGraph) model).getLayers();
  }

  /** Name of a layer for the filter: its configured name, else its index. */
  static String layerName(Layer layer) {
    String name = layer.conf() == null || layer.conf().getLayer() == null ? null
        : layer.conf().getLayer().getLayerName();
    return name == null ? String.valueOf(layer.getIndex()) : name;
  }

  /** Fills the segment lists with rank-1 views of the watched parameters and their gradients. */
  private void segments(Model model) {
    wSegments.clear();
    gSegments.clear();
    if (layerFilter == null) {
      wSegments.add(flat(model.params()));
      gSegments.add(flat(model.getGradientsViewArray()));
    } else {
      for (Layer layer : layers(model)) {
        if (layer.numParams() > 0 && layerFilter.test(layerName(layer))) {
          wSegments.add(flat(layer.params()));
          gSegments.add(flat(layer.getGradientsViewArray()));
        }
      }
      if (wSegments.isEmpty()) {
        throw new IllegalStateException("the layer filter keeps no layer with parameters");
      }
    }
  }

  /** ‖g_l‖² of the requested layers, from their gradient views (before the updater). */
  private void layerNorms(Model model, double scale) {
    Layer[] layers = layers(model);
    for (int i = 0; i < idLayerGradSq.length; i++) {
      String want = normLayers.get(i);
      Layer found = null;
      for (Layer layer : layers) {
        if (layer.numParams() > 0 && want.equals(layerName(layer))) {
          found = layer;
          break;
        }
      }
      if (found == null) {
        if (!warnedMissingLayer) {
          warnedMissingLayer = true;
          log.warn("ergowatch: no layer with parameters named {} in this model; its series {} stays empty", want,
              layerSeries(want));
        }
        continue;
      }
      oneView.clear();
      oneView.add(flat(found.getGradientsViewArray()));
      record.put(idLayerGradSq[i], Vectors.sq(oneView) * scale * scale);
    }
  }

  /**
   * Sharpness at w_{t+1} on the probe batch, with a twin network (a clone made at the first call,
   * without workspaces or listeners) that computes the gradients, so the training network's
   * state is never touched. Memory: the twin (its parameters, gradients, updater state and
   * activations) + 3d.
   */
  private double sharpness(Model model, int iteration) {
    INDArray w = flat(model.params());
    if (probeNet == null) {
      if (model instanceof MultiLayerNetwork m) {
        MultiLayerNetwork twin = m.clone();
        twin.getLayerWiseConfigurations().setTrainingWorkspaceMode(org.deeplearning4j.nn.conf.WorkspaceMode.NONE);
        twin.getLayerWiseConfigurations().setInferenceWorkspaceMode(org.deeplearning4j.nn.conf.WorkspaceMode.NONE);
        twin.setListeners(new ArrayList<org.deeplearning4j.optimize.api.TrainingListener>());
        twin.setInput(sharpnessProbe.getFeatures());
        twin.setLabels(sharpnessProbe.getLabels());
        probeNet = twin;
      } else {
        ComputationGraph twin = ((ComputationGraph) model).clone();
        twin.getConfiguration().setTrainingWorkspaceMode(org.deeplearning4j.nn.conf.WorkspaceMode.NONE);
        twin.getConfiguration().setInferenceWorkspaceMode(org.deeplearning4j.nn.conf.WorkspaceMode.NONE);
        twin.setListeners(new ArrayList<org.deeplearning4j.optimize.api.TrainingListener>());
        twin.setInputs(sharpnessProbe.getFeatures());
        twin.setLabels(sharpnessProbe.getLabels());
        probeNet = twin;
      }
      sharpness = new Sharpness(w.length(), w.dataType(), sharpnessIterations, 1e-3, 12345);
    }
    Model twin = probeNet;
    double scale = 1.0 / sharpnessProbe.getFeatures().size(0);
    INDArray twinParams = flat(twin.params());
    INDArray precondition = adamScaling(model, iteration, w);
    return sharpness.estimate(w, (x, out) -> {
      twinParams.assign(x);
      if (twin instanceof MultiLayerNetwork m) {
        m.setInput(sharpnessProbe.getFeatures());
        m.setLabels(sharpnessProbe.getLabels());
        m.computeGradientAndScore();
      } else {
        ComputationGraph g = (ComputationGraph) twin;
        g.setInputs(sharpnessProbe.getFeatures());
        g.setLabels(sharpnessProbe.getLabels());
        g.computeGradientAndScore();
      }
      flat(twin.getGradientsViewArray()).mul(scale, out);
    }, precondition);
  }

  /**
   * D = P^−1/2 over the flat parameters when every parameter is updated by Adam, P being the
   * preconditioner of the step just applied: DL4J's Adam subtracts lr·m̂/P with P = (√v + ε) /
   * √(1 − β₂^T), T = iteration + 1 (pinned by a test). Null (sharpness not preconditioned, said
   * once) for any other updater.
   */
  private INDArray adamScaling(Model model, int iteration, INDArray w) {
    org.deeplearning4j.nn.api.Updater updater = model instanceof MultiLayerNetwork m ? m.getUpdater()
        : ((ComputationGraph) model).getUpdater();
    if (!(updater instanceof org.deeplearning4j.nn.updater.BaseMultiLayerUpdater<?> multi)) {
      return null;
    }
    List<org.deeplearning4j.nn.updater.UpdaterBlock> blocks = multi.getUpdaterBlocks();
    long covered = 0;
    for (org.deeplearning4j.nn.updater.UpdaterBlock block : blocks) {
      if (!(block.getGradientUpdater() instanceof org.nd4j.linalg.learning.AdamUpdater)) {
        if (!warnedPrecondition) {
          warnedPrecondition = true;
          log.info("ergowatch: sharpness is not preconditioned: not every layer uses Adam (updater {})",
              block.getGradientUpdater() == null ? "none" : block.getGradientUpdater().getClass().getSimpleName());
        }
        return null;
      }
      covered += block.getParamOffsetEnd() - block.getParamOffsetStart();
    }
    if (blocks.isEmpty() || covered != w.length()) {
      return null;
    }
    if (adamScale == null) {
      adamScale = Nd4j.create(w.dataType(), w.length());
    }
    for (org.deeplearning4j.nn.updater.UpdaterBlock block : blocks) {
      org.nd4j.linalg.learning.AdamUpdater adam = (org.nd4j.linalg.learning.AdamUpdater) block.getGradientUpdater();
      org.nd4j.linalg.learning.config.Adam cfg = adam.getConfig();
      INDArray v = flat(adam.getV());
      INDArray d = adamScale.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(block.getParamOffsetStart(),
          block.getParamOffsetEnd()));
      double bias = Math.sqrt(1 - Math.pow(cfg.getBeta2(), iteration + 1.0));
      // D = P^-1/2 = (bias / (sqrt(v) + eps))^1/2
      d.assign(v);
      org.nd4j.linalg.ops.transforms.Transforms.sqrt(d, false);
      d.addi(cfg.getEpsilon()).rdivi(bias);
      org.nd4j.linalg.ops.transforms.Transforms.sqrt(d, false);
    }
    return adamScale;
  }

  static INDArray flat(INDArray a) {
    Objects.requireNonNull(a, "parameter or gradient view not initialised (call net.init() first)");
    return a.rank() == 1 ? a : a.reshape(a.length());
  }

  /** The configurations of the layers with parameters (those with an updater). */
  private static List<BaseLayer> trainable(Model model) {
    List<BaseLayer> out = new ArrayList<>();
    for (Layer layer : layers(model)) {
      if (layer.numParams() > 0 && layer.conf().getLayer() instanceof BaseLayer bl) {
        out.add(bl);
      }
    }
    return out;
  }

  private double learningRate(Model model, int iteration, int epoch) {
    if (trainableLayers == null) {
      trainableLayers = trainable(model); // a listener serves one model: its layers do not change
    }
    double max = Double.NaN;
    boolean differ = false;
    for (BaseLayer bl : trainableLayers) {
      for (int k = 0; k < 2; k++) {
        IUpdater u = k == 0 ? bl.getIUpdater() : bl.getBiasUpdater();
        if (u == null || !u.hasLearningRate()) {
          continue;
        }
        double lr = u.getLearningRate(iteration, epoch);
        if (Double.isNaN(max)) {
          max = lr;
        } else if (lr != max) {
          differ = true;
          max = Math.max(max, lr);
        }
      }
    }
    if (differ && !warnedLr) {
      warnedLr = true;
      log.info("ergowatch: the layers' learning rates differ; series lr reports the largest ({})", max);
    }
    return max;
  }

  private void fail(String where, RuntimeException e) {
    broken = true;
    pending = false;
    log.warn("ergowatch: measuring the geometry failed in {}; geometry stops for this run, loss and lr go on",
        where, e);
  }

  // ---- builder ----------------------------------------------------------------------------------

  /** Configures a listener; {@link #build()} starts its agent. */
  public static final class Builder {
    private String address = "localhost:" + ErgowatchAgent.DEFAULT_PORT;
    private String run;
    private String job = "";
    private final Map<String, String> labels = new LinkedHashMap<>();
    private Level level = Level.STANDARD;
    private int geometryEvery = 1;
    private double emaHorizon = 50;
    private int projections = 32;
    private long seed;
    private long projectionCacheBytes = Projections.DEFAULT_CACHE_BYTES;
    private int refEvery = 100;
    private int refLag = 100;
    private Predicate<String> layerFilter;
    private final List<String> normLayers = new ArrayList<>();
    private int sharpnessEvery;
    private int sharpnessIterations = 20;
    private org.nd4j.linalg.dataset.DataSet sharpnessProbe;
    private Consumer<ErgowatchAgent.Builder> agentOptions = b -> { };

    private Builder() {}

    /** The monitor's EWP/1 address, host:port (default localhost:7479). */
    public Builder address(String address) {
      this.address = Objects.requireNonNull(address, "address");
      return this;
    }

    /** The run id (required). */
    public Builder run(String run) {
      this.run = Objects.requireNonNull(run, "run");
      return this;
    }

    public Builder job(String job) {
      this.job = Objects.requireNonNull(job, "job");
      return this;
    }

    /** Run metadata; framework=dl4j is added unless given. */
    public Builder label(String key, String value) {
      labels.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    public Builder level(Level level) {
      this.level = Objects.requireNonNull(level, "level");
      return this;
    }

    /** Geometry cadence in iterations (default 1: every iteration). */
    public Builder geometryEvery(int every) {
      if (every < 1) {
        throw new IllegalArgumentException("geometryEvery must be >= 1, got " + every);
      }
      this.geometryEvery = every;
      return this;
    }

    /** Horizon of the EMA centre in iterations (default 50, a quarter of the monitor's default window). */
    public Builder emaHorizon(double steps) {
      if (!(steps >= 1)) {
        throw new IllegalArgumentException("emaHorizon must be >= 1, got " + steps);
      }
      this.emaHorizon = steps;
      return this;
    }

    /** Number of random projections at level FULL (default 32) and the seed of their directions. */
    public Builder projections(int count, long seed) {
      if (count < 1 || count > 1024) {
        throw new IllegalArgumentException("projections must be within 1..1024, got " + count);
      }
      this.projections = count;
      this.seed = seed;
      return this;
    }

    /**
     * Memory allowed for keeping the projection directions at level FULL (default 64 MiB): when
     * projections × d numbers fit, they are generated once; else a block of them is regenerated
     * at every use (much slower: about 100 ms per geometry step at d = 270k, k = 32, on 2 cores).
     * 0 never keeps them.
     */
    public Builder projectionCache(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("projectionCache must be >= 0 bytes, got " + bytes);
      }
      this.projectionCacheBytes = bytes;
      return this;
    }

    /** Lagged-reference probes at level FULL: a probe every {@code every} iterations, referenced {@code lag} later. */
    public Builder reference(int every, int lag) {
      if (every < 1 || lag < 1 || LaggedReference.liveProbes(every, lag) > LaggedReference.MAX_LIVE) {
        throw new IllegalArgumentException("reference(every, lag) needs every, lag >= 1 and lag <= "
            + LaggedReference.MAX_LIVE + " * every, got " + every + ", " + lag);
      }
      this.refEvery = every;
      this.refLag = lag;
      return this;
    }

    /**
     * Measures only the layers whose name (configured name, else index) passes the filter; default
     * all parameters, as one view of the flat parameter vector.
     */
    public Builder layers(Predicate<String> filter) {
      this.layerFilter = Objects.requireNonNull(filter, "filter");
      return this;
    }

    /**
     * Also sends, at geometry steps, the squared norm of the mean gradient of each named layer as
     * the user series {@code layer.<name>.grad_sq} (see {@link ErgowatchListener#layerSeries}).
     * Names are the layers' configured names (ComputationGraph: vertex names), else indices.
     */
    public Builder layerGradNorms(String... layers) {
      for (String l : layers) {
        String name = Objects.requireNonNull(l, "layer");
        layerSeries(name); // validates the length
        if (!normLayers.contains(name)) {
          normLayers.add(name);
        }
      }
      return this;
    }

    /**
     * Sends the series sharpness every {@code every} iterations: the top Hessian eigenvalue of the
     * mean loss on the fixed {@code probe} batch at w_{t+1} (after iteration t's update), by
     * {@code iterations} power iterations on finite-difference Hessian-vector products (2
     * gradient evaluations each, on a twin network). When every layer uses Adam it is the
     * preconditioned sharpness λ_max(P⁻¹H) (P: Adam's preconditioner of the step; compare with
     * 38/lr for β₁ = 0.9), else the plain one (compare with 2/lr for SGD): give the monitor the
     * labels optimizer (and beta1 or momentum) so that it knows which. Over all parameters,
     * whatever {@link #layers} keeps.
     */
    public Builder sharpness(int every, org.nd4j.linalg.dataset.DataSet probe, int iterations) {
      if (every < 1 || iterations < 1) {
        throw new IllegalArgumentException("sharpness needs every >= 1 and iterations >= 1, got " + every + ", "
            + iterations);
      }
      this.sharpnessEvery = every;
      this.sharpnessProbe = Objects.requireNonNull(probe, "probe");
      this.sharpnessIterations = iterations;
      return this;
    }

    /** Further settings of the underlying agent (timeouts, buffer, token, tls...). */
    public Builder agent(Consumer<ErgowatchAgent.Builder> options) {
      this.agentOptions = Objects.requireNonNull(options, "options");
      return this;
    }

    /**
     * Checks every setting (a bad one throws {@link IllegalArgumentException} naming it) and
     * returns the listener. Its agent starts, and connects in the background, at the first
     * training iteration, when the model tells the optimizer labels (optimizer, beta1 or
     * momentum, unless given with {@link #label}); a listener that never sees an iteration never
     * connects.
     */
    public ErgowatchListener build() {
      StepRecord record = newRecord();
      check();
      ErgowatchAgent.Builder ab = ErgowatchAgent.builder().address(address).run(run).job(job)
          .series(record.names());
      Map<String, String> given = new LinkedHashMap<>(labels);
      given.putIfAbsent("framework", "dl4j");
      given.putIfAbsent("level", level.name().toLowerCase(java.util.Locale.ROOT));
      if (level != Level.BASIC) {
        // The centre's rate a: the monitor corrects Π for the moving centre with it (math.md §2).
        given.putIfAbsent("ema_alpha", Double.toString(Math.min(1.0, geometryEvery / emaHorizon)));
      }
      given.forEach(ab::label);
      agentOptions.accept(ab);
      return new ErgowatchListener(this, new Sink() {
        private ErgowatchAgent agent;

        @Override
        public void start(Map<String, String> inferred) {
          inferred.forEach((k, v) -> {
            if (!given.containsKey(k)) {
              try {
                ab.label(k, v);
              } catch (IllegalArgumentException e) { // e.g. past the agent's label limit: go without it
                log.warn("ergowatch: label {}={} not added: {}", k, v, e.getMessage());
              }
            }
          });
          agent = ab.build();
        }

        @Override
        public void record(long step, int[] ids, double[] values, int count) {
          if (agent != null) { // null only when start() failed, and said so
            agent.record(step, ids, values, count);
          }
        }

        @Override
        public void close() {
          if (agent != null) {
            agent.close(Bye.Status.COMPLETED, "");
          }
        }
      }, record);
    }

    /** A listener writing to a test's sink instead of an agent. */
    ErgowatchListener build(Sink sink, StepRecord record) {
      check();
      return new ErgowatchListener(this, sink, record);
    }

    StepRecord newRecord() {
      return new StepRecord(seriesNames(level, projections, normLayers, sharpnessEvery > 0));
    }

    private void check() {
      if (run == null) {
        throw new IllegalStateException("run is required");
      }
    }
  }
}
