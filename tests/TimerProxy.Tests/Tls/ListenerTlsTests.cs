using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Tls;

/// <summary>The proxy's TLS port, with redis-server's option names and meaning (tls-auth-clients yes/no/optional).</summary>
public sealed class ListenerTlsTests : IDisposable
{
    private readonly TestCertificates _certs = new();
    private readonly RedisServer _redis = new();

    public void Dispose()
    {
        _redis.Dispose();
        _certs.Dispose();
    }

    private Task<InProcessProxy> StartAsync(string authClients, string? port = null, int handshakeTimeoutMs = 10_000) =>
        InProcessProxy.StartAsync(_redis.Endpoint, new Dictionary<string, string?>
        {
            ["Proxy:Tls:Port"] = InProcessProxy.AnyFreePort,
            ["Proxy:Tls:CertFile"] = _certs.ServerCert,
            ["Proxy:Tls:KeyFile"] = _certs.ServerKey,
            ["Proxy:Tls:CaCertFile"] = _certs.CaCert,
            ["Proxy:Tls:AuthClients"] = authClients,
            ["Proxy:Tls:HandshakeTimeoutMs"] = handshakeTimeoutMs.ToString(),
            ["Proxy:Port"] = port,
        }.Where(kv => kv.Value is not null).ToDictionary());

    private static async Task AssertServedAsync(RawClient c)
    {
        Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
        var batch = Enumerable.Range(0, 2000).SelectMany(_ => RawClient.Command("INCR", "tls:listener:" + c.GetHashCode())).ToArray();
        await c.SendAsync(batch);
        for (int i = 1; i <= 2000; i++) Assert.Equal($":{i}\r\n", await c.ReadReplyAsync());
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "tls:timer:" + c.GetHashCode(), "f", "600000", "0"));
        Assert.StartsWith("*8\r\n$8\r\nfunction\r\n$1\r\nf\r\n", await c.CallAsync("TIMER.INFO", "tls:timer:" + c.GetHashCode()));
    }

    private static async Task AssertRefusedAsync(Func<Task<RawClient>> connect)
    {
        // TLS 1.3 finishes the client's side of the handshake before the server checks its certificate: the refusal
        // is then the close that follows.
        RawClient c;
        try
        {
            c = await connect();
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
        {
            return;
        }
        using (c)
        {
            try
            {
                await c.SendCommandAsync("PING");
                Assert.Equal("", await c.ReadToCloseAsync());
            }
            catch (IOException) { }
        }
    }

    [Fact]
    public async Task Tls_and_plain_ports_both_serve_and_redis_cli_speaks_tls_to_the_proxy()
    {
        await using var proxy = await StartAsync("no");
        using (var tls = await RawClient.ConnectTlsAsync(proxy.TlsPort, _certs.CaCert)) await AssertServedAsync(tls);
        using (var plain = await RawClient.ConnectAsync(proxy.Port)) await AssertServedAsync(plain);

        var cli = Process.Start(new ProcessStartInfo("redis-cli", ["--tls", "--cacert", _certs.CaCert, "-h", "127.0.0.1", "-p", proxy.TlsPort.ToString(), "PING"])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = await cli.StandardOutput.ReadToEndAsync();
        await cli.WaitForExitAsync();
        Assert.Equal("PONG", output.Trim());
    }

    [Fact]
    public async Task Auth_clients_yes_needs_a_certificate_of_the_ca()
    {
        await using var proxy = await StartAsync("yes");
        using (var c = await RawClient.ConnectTlsAsync(proxy.TlsPort, _certs.CaCert, _certs.ClientCert, _certs.ClientKey)) await AssertServedAsync(c);
        await AssertRefusedAsync(() => RawClient.ConnectTlsAsync(proxy.TlsPort, _certs.CaCert));
        // A certificate the CA did not sign (the server's of another name is signed by it; the other CA's own is not).
        await AssertRefusedAsync(() => RawClient.ConnectTlsAsync(proxy.TlsPort, _certs.CaCert, _certs.OtherCaCert, _certs.OtherCaKey));
    }

    [Fact]
    public async Task Auth_clients_optional_accepts_none_but_not_a_bad_one()
    {
        await using var proxy = await StartAsync("optional");
        using (var none = await RawClient.ConnectTlsAsync(proxy.TlsPort, _certs.CaCert)) await AssertServedAsync(none);
        using (var good = await RawClient.ConnectTlsAsync(proxy.TlsPort, _certs.CaCert, _certs.ClientCert, _certs.ClientKey)) await AssertServedAsync(good);
        await AssertRefusedAsync(() => RawClient.ConnectTlsAsync(proxy.TlsPort, _certs.CaCert, _certs.OtherCaCert, _certs.OtherCaKey));
    }

    [Fact]
    public async Task Plain_resp_on_the_tls_port_and_a_silent_client_are_closed()
    {
        await using var proxy = await StartAsync("no", handshakeTimeoutMs: 300);
        using (var plain = await RawClient.ConnectAsync(proxy.TlsPort))
        {
            await plain.SendCommandAsync("PING");
            Assert.DoesNotContain("PONG", await plain.ReadToCloseAsync());
        }
        using (var silent = await RawClient.ConnectAsync(proxy.TlsPort))
        {
            var watch = Stopwatch.StartNew();
            Assert.Equal("", await silent.ReadToCloseAsync(TimeSpan.FromSeconds(10)));
            Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(250), $"closed after {watch.Elapsed}, before the handshake timeout");
        }
    }

    [Fact]
    public async Task Port_0_closes_the_plain_port_as_in_redis_server()
    {
        await using var proxy = await StartAsync("no", port: "0");
        Assert.Equal(0, proxy.Port);
        using var c = await RawClient.ConnectTlsAsync(proxy.TlsPort, _certs.CaCert);
        Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
    }

    [Fact]
    public async Task A_rotated_certificate_is_served_to_new_connections_without_a_restart()
    {
        // The server's files are copies, so that they can be replaced.
        string cert = Path.Combine(_certs.Directory, "rotating.crt"), key = Path.Combine(_certs.Directory, "rotating.key");
        File.Copy(_certs.ServerCert, cert);
        File.Copy(_certs.ServerKey, key);
        await using var proxy = await InProcessProxy.StartAsync(_redis.Endpoint, new Dictionary<string, string?>
        {
            ["Proxy:Tls:Port"] = InProcessProxy.AnyFreePort, ["Proxy:Tls:CertFile"] = cert, ["Proxy:Tls:KeyFile"] = key,
            ["Proxy:Tls:AuthClients"] = "no",
        });
        async Task<string> SubjectAsync()
        {
            string subject = "";
            using var c = await RawClient.ConnectTlsAsync(proxy.TlsPort, _certs.CaCert, seen: certificate => subject = certificate.Subject);
            Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
            return subject;
        }
        Assert.Equal("CN=redis", await SubjectAsync());
        using var kept = await RawClient.ConnectTlsAsync(proxy.TlsPort, _certs.CaCert);

        File.Copy(_certs.OtherNameCert, cert, overwrite: true);
        File.Copy(_certs.OtherNameKey, key, overwrite: true);
        File.SetLastWriteTimeUtc(cert, DateTime.UtcNow.AddSeconds(5));
        File.SetLastWriteTimeUtc(key, DateTime.UtcNow.AddSeconds(5));
        await TimerFixture.WaitUntilAsync(async () => await SubjectAsync() == "CN=other", TimeSpan.FromSeconds(15), "new connections get the new certificate");
        Assert.Equal("+PONG\r\n", await kept.CallAsync("PING"));
    }
}
