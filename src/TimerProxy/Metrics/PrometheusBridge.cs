using System.Diagnostics.Metrics;
using Prometheus;

namespace RedisTimer.Proxy.Metrics;

/// <summary>
/// Feeds the instruments of <see cref="ProxyMetrics"/> into a prometheus-net registry, typed as Prometheus expects:
/// an observable counter becomes a Prometheus counter (prometheus-net's own MeterAdapter makes every counter a gauge,
/// and sorts and copies the tags of each measurement), an observable up-down counter or gauge a gauge, a histogram a
/// histogram. A histogram measurement costs one call of the listener and one interlocked add; the observed ones are
/// read at each scrape.
/// </summary>
public sealed class PrometheusBridge : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly IMetricFactory _factory;

    public PrometheusBridge(ProxyMetrics metrics, CollectorRegistry registry)
    {
        _factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter)) listener.EnableMeasurementEvents(instrument, SinkFor(instrument));
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, sink) => ((Sink)sink!).Record(value));
        _listener.SetMeasurementEventCallback<int>((_, value, _, sink) => ((Sink)sink!).Record(value));
        _listener.SetMeasurementEventCallback<double>((_, value, _, sink) => ((Sink)sink!).Record(value));
        _listener.Start();
        // Observable gauges report when asked: at each scrape.
        registry.AddBeforeCollectCallback(_listener.RecordObservableInstruments);
    }

    /// <summary>The Prometheus name of an instrument: <c>redistimer.fire.lateness</c> in seconds is <c>redistimer_fire_lateness_seconds</c>.</summary>
    public static string PrometheusName(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        if (instrument.Unit == "s") name += "_seconds";
        if (instrument is ObservableCounter<long>) name += "_total";
        return name;
    }

    private Sink SinkFor(Instrument instrument)
    {
        var name = PrometheusName(instrument);
        var help = instrument.Description ?? instrument.Name;
        return instrument switch
        {
            ObservableCounter<long> => new CounterSink(_factory.CreateCounter(name, help)),
            Histogram<double> => new HistogramSink(_factory.CreateHistogram(name, help, new HistogramConfiguration { Buckets = BucketsFor(instrument) })),
            _ => new GaugeSink(_factory.CreateGauge(name, help)),
        };
    }

    // Lateness: from a millisecond (on time) to a minute (a proxy that was down); a fire transaction: 50 µs to 10 s.
    private static double[] BucketsFor(Instrument instrument) => instrument.Name switch
    {
        "redistimer.fire.lateness" => [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        _ => [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10],
    };

    public void Dispose() => _listener.Dispose();

    private abstract class Sink
    {
        public abstract void Record(double value);
    }

    // An observed counter reports its total.
    private sealed class CounterSink(Counter counter) : Sink
    {
        public override void Record(double value) => counter.IncTo(value);
    }

    private sealed class GaugeSink(Gauge gauge) : Sink
    {
        public override void Record(double value) => gauge.Set(value);
    }

    private sealed class HistogramSink(Histogram histogram) : Sink
    {
        public override void Record(double value) => histogram.Observe(value);
    }
}
