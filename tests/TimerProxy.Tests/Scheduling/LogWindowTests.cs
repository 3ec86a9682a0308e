using RedisTimer.Proxy.Scheduling;

namespace RedisTimer.Proxy.Tests.Scheduling;

public class LogWindowTests
{
    private long _now = 1_000;

    private LogWindow Window(int lines) => new(lines, TimeSpan.FromSeconds(10), () => _now);

    [Fact]
    public void The_first_lines_of_a_window_pass_the_others_are_counted_and_taken_once_it_has_passed()
    {
        var window = Window(3);
        Assert.Equal([true, true, true, false, false], Enumerable.Range(0, 5).Select(_ => window.Admit()));
        Assert.Equal(0, window.TakeSuppressed()); // the window is still open
        _now += 9_999;
        Assert.False(window.Admit());
        Assert.Equal(0, window.TakeSuppressed());
        _now += 1;
        Assert.Equal(3, window.TakeSuppressed());
        Assert.Equal(0, window.TakeSuppressed());
        // A new window: its own first lines pass.
        Assert.Equal([true, true, true, false], Enumerable.Range(0, 4).Select(_ => window.Admit()));
    }

    [Fact]
    public void A_window_with_nothing_counted_opens_afresh_at_the_next_line()
    {
        var window = Window(1);
        Assert.True(window.Admit());
        _now += 60_000;
        Assert.Equal(0, window.TakeSuppressed());
        Assert.True(window.Admit());
        Assert.False(window.Admit());
        _now += 5_000; // counted from the line that opened it, not from the first window
        Assert.Equal(0, window.TakeSuppressed());
        _now += 5_000;
        Assert.Equal(1, window.TakeSuppressed());
    }

    [Fact]
    public void Counted_lines_are_never_dropped_by_a_late_admit()
    {
        var window = Window(1);
        Assert.True(window.Admit());
        Assert.False(window.Admit());
        _now += 20_000;
        // A caller that admits before taking: the count stays until taken.
        Assert.False(window.Admit());
        Assert.Equal(2, window.TakeSuppressed());
    }
}
