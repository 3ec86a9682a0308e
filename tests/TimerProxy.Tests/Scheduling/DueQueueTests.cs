using System.Text;
using RedisTimer.Proxy.Scheduling;

namespace RedisTimer.Proxy.Tests.Scheduling;

public class DueQueueTests
{
    // {fn, iv, loop, numkeys}: a definition with no keys or args, as cmsgpack packs it.
    private static readonly byte[] Definition = [0x94, 0xa1, (byte)'f', 0xa3, (byte)'1', (byte)'0', (byte)'0', 0xa1, (byte)'0', 0xa1, (byte)'0'];

    private static ScheduledTimer Timer(string id, double dueMs, string version = "v1", int db = 0) =>
        ScheduledTimer.Create(db, Encoding.UTF8.GetBytes(id), Encoding.UTF8.GetBytes(version), dueMs, loop: false, 0, Definition);

    private static List<string> TakeDue(DueQueue queue, double nowMs, int max = 100)
    {
        var due = new List<ScheduledTimer>();
        queue.TakeDue(nowMs, max, due);
        return due.Select(t => $"{t.Db}:{t.IdText}").ToList();
    }

    [Fact]
    public void Timers_come_out_in_due_order_only_once_due_and_at_most_max_at_a_time()
    {
        var queue = new DueQueue();
        queue.Upsert(Timer("c", 30));
        queue.Upsert(Timer("a", 10));
        queue.Upsert(Timer("b", 20));
        Assert.Empty(TakeDue(queue, 9));
        Assert.Equal(["0:a", "0:b"], TakeDue(queue, 25));
        Assert.Equal(30, queue.NextDueMs());
        queue.Upsert(Timer("d", 5));
        Assert.Equal(["0:d"], TakeDue(queue, 100, max: 1));
        Assert.Equal(["0:c"], TakeDue(queue, 100));
        Assert.Null(queue.NextDueMs());
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void A_timer_replaced_comes_out_once_in_its_latest_form_and_a_removed_one_not_at_all()
    {
        var queue = new DueQueue();
        queue.Upsert(Timer("a", 10, "v1"));
        queue.Upsert(Timer("a", 40, "v2")); // reset: later
        queue.Upsert(Timer("b", 20));
        queue.Remove(TimerSlot.Of(0, "b"u8.ToArray()));
        Assert.Equal(1, queue.Count);
        Assert.Empty(TakeDue(queue, 30));
        var due = new List<ScheduledTimer>();
        queue.TakeDue(50, 10, due);
        Assert.Equal("v2", Encoding.UTF8.GetString(Assert.Single(due).Version));
    }

    [Fact]
    public void The_same_id_in_two_databases_is_two_timers()
    {
        var queue = new DueQueue();
        queue.Upsert(Timer("a", 10, db: 0));
        queue.Upsert(Timer("a", 20, db: 3));
        Assert.True(queue.Contains(TimerSlot.Of(3, "a"u8.ToArray()), 20));
        Assert.False(queue.Contains(TimerSlot.Of(3, "a"u8.ToArray()), 10)); // held with another due time
        Assert.Equal(["0:a", "3:a"], TakeDue(queue, 30));
    }

    [Fact]
    public void Upsert_says_whether_the_timer_is_now_the_earliest_and_an_unchanged_one_is_not_queued_again()
    {
        var queue = new DueQueue();
        Assert.True(queue.Upsert(Timer("a", 20)));
        Assert.False(queue.Upsert(Timer("b", 30)));
        Assert.True(queue.Upsert(Timer("c", 10)));
        Assert.False(queue.Upsert(Timer("c", 10))); // same version and due: nothing to do
        Assert.Equal(3, queue.Count);
    }

    [Fact]
    public void Many_resets_of_one_timer_leave_one_entry_behind()
    {
        var queue = new DueQueue();
        for (int i = 0; i < 10_000; i++) queue.Upsert(Timer("a", 1000 + i, "v" + i));
        Assert.Equal(1, queue.Count);
        var due = new List<ScheduledTimer>();
        queue.TakeDue(100_000, 100, due);
        var only = Assert.Single(due);
        Assert.Equal(10_999, only.DueMs);
    }
}

public class ScheduledTimerTests
{
    [Fact]
    public void Every_field_reads_back_as_created_and_a_rearm_keeps_the_definition()
    {
        byte[] def = [0x94, 0xa2, (byte)'f', (byte)'n', 0xa2, (byte)'5', (byte)'0', 0xa1, (byte)'1', 0xa1, (byte)'0'];
        var t = ScheduledTimer.FromFields(7, "id:é"u8, "ver\xff"u8.ToArray(), "12345.678", def);
        Assert.Equal(7, t.Db);
        Assert.Equal("id:é", t.IdText);
        Assert.Equal("ver\xff"u8.ToArray(), t.Version.ToArray());
        Assert.Equal(12345.678, t.DueMs);
        Assert.True(t.Loop);
        Assert.Equal(50, t.IntervalMs);
        Assert.Equal("fn", t.FunctionName);

        var rearmed = t.Rearmed("v2f"u8, 99.5);
        Assert.Equal(def, rearmed.Definition.ToArray());
        Assert.Equal(99.5, rearmed.DueMs);
        Assert.Equal("v2f", Encoding.ASCII.GetString(rearmed.Version));
        Assert.True(rearmed.Slot.Equals(t.Slot));
        Assert.False(rearmed.IsSameAs(t));
    }

    [Theory]
    [InlineData(new byte[] { 0x93, 0xa1, (byte)'f', 0xa1, (byte)'1', 0xa1, (byte)'0' })]                          // fewer than 4 fields
    [InlineData(new byte[] { 0x94, 0xa1, (byte)'f', 0xa1, (byte)'1', 0xa1, (byte)'0', 0xa1, (byte)'2' })]           // numkeys beyond the keys
    [InlineData(new byte[] { 0x94, 0xa1, (byte)'f', 0xa1, (byte)'x', 0xa1, (byte)'1', 0xa1, (byte)'0' })]           // LOOP with a bad interval
    public void A_definition_written_by_hand_that_the_library_would_not_write_is_refused(byte[] def)
    {
        Assert.Throws<InvalidDataException>(() => ScheduledTimer.FromFields(0, "id"u8, "v"u8.ToArray(), "1", def));
    }
}
