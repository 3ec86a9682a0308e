using System.IO.Pipelines;
using System.Text;
using static RedisTimer.Resp.Tests.Segments;

namespace RedisTimer.Resp.Tests;

public class RespReplyReaderTests
{
    // A fire's replies as Redis sends them: the check (WATCH, HGET ver of each timer), then MULTI, QUEUED each,
    // EXEC with the claims' results and the functions' (one failed, one a large nested reply).
    private const string FireReplies =
        "+OK\r\n$3\r\nv1a\r\n$-1\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" +
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n" +
        "*4\r\n:1\r\n:1\r\n-ERR user_function failed\r\n*2\r\n*1\r\n$5\r\nhello\r\n%1\r\n+k\r\n_\r\n";

    [Fact]
    public async Task Replies_written_one_byte_at_a_time_are_read_whole_and_in_order()
    {
        var pipe = new Pipe();
        var reader = new RespReplyReader(pipe.Reader);
        var writing = Task.Run(async () =>
        {
            foreach (byte b in Bytes(FireReplies))
            {
                await pipe.Writer.WriteAsync(new[] { b });
            }
        });

        Assert.Equal("+OK\\r\\n", (await reader.NextAsync()).ToString());
        var version = await reader.NextAsync();
        Assert.True(version.ContentEquals("v1a"u8));
        Assert.False(version.ContentEquals("v1b"u8));
        Assert.True((await reader.NextAsync()).IsNull);
        var wrongType = await reader.NextAsync();
        Assert.True(wrongType.IsError);
        Assert.Equal("WRONGTYPE Operation against a key holding the wrong kind of value", wrongType.Text);
        for (int i = 0; i < 3; i++) Assert.False((await reader.NextAsync()).IsError);

        var exec = await reader.NextHeaderAsync();
        Assert.Equal((byte)'*', exec.Type);
        Assert.Equal(4, exec.Count);
        Assert.Equal(1, (await reader.NextAsync()).Count);
        Assert.Equal(1, (await reader.NextAsync()).Count);
        var failed = await reader.NextAsync();
        Assert.Equal("ERR user_function failed", failed.Text);
        var nested = await reader.NextAsync();
        Assert.False(nested.IsError);
        Assert.Equal("*2\\r\\n*1\\r\\n$5\\r\\nhello\\r\\n%1\\r\\n+k\\r\\n_\\r\\n", nested.ToString());
        reader.Release();
        await writing;
    }

    [Theory]
    [InlineData("*-1\r\n", true, -1)]
    [InlineData("_\r\n", true, -1)]
    [InlineData("*0\r\n", false, 0)]
    [InlineData("-EXECABORT Transaction discarded because of previous errors.\r\n", false, -1)]
    public async Task A_header_that_is_a_whole_reply(string bytes, bool isNull, long count)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Bytes(bytes + ":7\r\n"));
        var reader = new RespReplyReader(pipe.Reader);
        var header = await reader.NextHeaderAsync();
        Assert.Equal(isNull, header.IsNull);
        Assert.Equal(count, header.Count);
        Assert.Equal(7, (await reader.NextAsync()).Count); // the next reply follows at once
    }

    [Fact]
    public async Task A_bulk_error_and_a_bulk_string_split_in_their_payload()
    {
        var pipe = new Pipe();
        var reader = new RespReplyReader(pipe.Reader);
        await pipe.Writer.WriteAsync(Bytes("!21\r\nSYNTAX inv"));
        var pending = reader.NextAsync();
        Assert.False(pending.IsCompleted);
        await pipe.Writer.WriteAsync(Bytes("alid syntax\r\n$4\r\na\r\nb\r\n"));
        var error = await pending;
        Assert.True(error.IsError);
        Assert.Equal("SYNTAX invalid syntax", error.Text);
        Assert.Equal("a\r\nb", (await reader.NextAsync()).Text);
    }

    [Fact]
    public async Task A_reply_larger_than_the_pipes_pause_threshold_is_read_without_holding_it_whole()
    {
        // The pipe pauses its writer at 64 KiB: a reader that waited for the whole EXEC would never get it.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024));
        var reader = new RespReplyReader(pipe.Reader);
        var element = "$1000\r\n" + new string('x', 1000) + "\r\n";
        var writing = Task.Run(async () =>
        {
            await pipe.Writer.WriteAsync(Bytes("*1000\r\n"));
            for (int i = 0; i < 1000; i++) await pipe.Writer.WriteAsync(Bytes(element));
        });
        Assert.Equal(1000, (await reader.NextHeaderAsync()).Count);
        for (int i = 0; i < 1000; i++) Assert.Equal(1000, (await reader.NextAsync()).Content.Length);
        reader.Release();
        await writing.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Skip_reads_past_a_reply_larger_than_the_pipes_pause_threshold_and_returns_an_errors_text()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024));
        var reader = new RespReplyReader(pipe.Reader);
        var writing = Task.Run(async () =>
        {
            await pipe.Writer.WriteAsync(Bytes("*2\r\n$1000000\r\n"));
            for (int i = 0; i < 1000; i++) await pipe.Writer.WriteAsync(Bytes(new string('x', 1000)));
            await pipe.Writer.WriteAsync(Bytes("\r\n:1\r\n-ERR boom\r\n+OK\r\n"));
        });
        Assert.Null(await reader.SkipAsync());
        Assert.Equal("ERR boom", await reader.SkipAsync());
        Assert.Null(await reader.SkipAsync());
        await writing.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Release_leaves_the_unread_replies_to_the_next_reader_of_the_pipe()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Bytes("+OK\r\n$5\r\nhello\r\n"));
        var reader = new RespReplyReader(pipe.Reader);
        await reader.NextAsync();
        reader.Release();
        var rest = await pipe.Reader.ReadAsync();
        Assert.Equal("$5\r\nhello\r\n", Encoding.Latin1.GetString(rest.Buffer));
    }

    [Theory]
    [InlineData("")]
    [InlineData("$5\r\nhel")]
    public async Task A_connection_closed_before_the_reply_is_complete_is_an_IOException(string bytes)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Bytes(bytes));
        await pipe.Writer.CompleteAsync();
        var reader = new RespReplyReader(pipe.Reader);
        await Assert.ThrowsAsync<IOException>(async () => await reader.NextAsync());
    }

    [Fact]
    public async Task Bytes_that_are_not_RESP_are_InvalidDataException()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Bytes("HTTP/1.1 400 Bad Request\r\n"));
        var reader = new RespReplyReader(pipe.Reader);
        await Assert.ThrowsAsync<InvalidDataException>(async () => await reader.NextAsync());
    }
}
