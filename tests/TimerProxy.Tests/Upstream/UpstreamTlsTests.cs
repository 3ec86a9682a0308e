using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Upstream;

/// <summary>
/// <c>ssl=true</c> towards a redis-server with a TLS port (its plain port stays open for the test's own checks):
/// clients and timers work over TLS, and every failed handshake is the client's one clear error line.
/// </summary>
public sealed class UpstreamTlsTests : IDisposable
{
    private readonly TestCertificates _certs = new();

    public void Dispose() => _certs.Dispose();

    private (RedisServer Redis, int TlsPort) StartTlsRedis(string authClients = "no", string? cert = null, string? key = null)
    {
        int tlsPort = FreePort.Next();
        return (new RedisServer(_certs.RedisArgs(tlsPort, authClients, cert, key)), tlsPort);
    }

    private Dictionary<string, string?> Files(bool ca = true, bool client = false, string? caFile = null)
    {
        var files = new Dictionary<string, string?>();
        if (ca) files["Proxy:UpstreamTls:CaCertFile"] = caFile ?? _certs.CaCert;
        if (client)
        {
            files["Proxy:UpstreamTls:CertFile"] = _certs.ClientCert;
            files["Proxy:UpstreamTls:KeyFile"] = _certs.ClientKey;
        }
        return files;
    }

    private static async Task<string> FirstReplyAsync(InProcessProxy proxy)
    {
        using var c = await RawClient.ConnectAsync(proxy.Port);
        await c.SendCommandAsync("PING");
        return await c.ReadToCloseAsync();
    }

    [Fact]
    public async Task Clients_and_timers_work_over_tls_with_a_private_ca_and_a_client_certificate()
    {
        var (redis, tlsPort) = StartTlsRedis(authClients: "yes");
        using var _ = redis;
        using (var direct = await RawClient.ConnectAsync(redis.Port)) await TimerFixture.LoadTestLibraryAsync(direct);
        await using var proxy = await InProcessProxy.StartAsync($"127.0.0.1:{tlsPort},ssl=true", Files(client: true));

        using var c = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", "tls:key", new string('x', 100_000)));
        Assert.Equal(":100000\r\n", await c.CallAsync("STRLEN", "tls:key"));
        // A pipelined batch far larger than one TLS record, answered in order.
        var batch = Enumerable.Range(0, 2000).SelectMany(i => RawClient.Command("INCR", "tls:counter")).ToArray();
        await c.SendAsync(batch);
        for (int i = 1; i <= 2000; i++) Assert.Equal($":{i}\r\n", await c.ReadReplyAsync());
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "tls:timer", "rt_log", "50", "1", "tls:arg-key"));

        // Every proxy connection reached Redis on its TLS port: the control plane's, the fire connection's, the client's.
        await TimerFixture.WaitUntilAsync(async () => (await TimerFixture.ReadFiresAsync(redis.Port)).Count == 1, because: "the timer fired over TLS");
        Assert.Equal(["tls:arg-key"], (await TimerFixture.ReadFiresAsync(redis.Port))[0].Keys);
        using var admin = await RawClient.ConnectAsync(redis.Port);
        var clients = (await admin.CallAsync("CLIENT", "LIST")).Split('\n').Where(l => l.Contains(" laddr=")).ToList();
        Assert.True(clients.Count(l => l.Contains($" laddr=127.0.0.1:{tlsPort} ")) >= 3, string.Join("\n", clients));
    }

    [Fact]
    public async Task A_certificate_the_system_does_not_trust_is_refused_with_the_reason()
    {
        var (redis, tlsPort) = StartTlsRedis();
        using var _ = redis;
        await using var proxy = await InProcessProxy.StartAsync($"127.0.0.1:{tlsPort},ssl=true");
        string reply = await FirstReplyAsync(proxy);
        Assert.StartsWith($"-ERR upstream 127.0.0.1:{tlsPort} unavailable: TLS handshake failed: the certificate is not trusted: ", reply);
        Assert.Contains("UntrustedRoot", reply);
    }

    [Fact]
    public async Task A_certificate_of_another_ca_is_refused_when_a_private_ca_is_configured()
    {
        var (redis, tlsPort) = StartTlsRedis();
        using var _ = redis;
        await using var proxy = await InProcessProxy.StartAsync($"127.0.0.1:{tlsPort},ssl=true", Files(caFile: _certs.OtherCaCert));
        Assert.StartsWith($"-ERR upstream 127.0.0.1:{tlsPort} unavailable: TLS handshake failed: the certificate is not signed by the configured CA: ",
            await FirstReplyAsync(proxy));
    }

    [Fact]
    public async Task A_certificate_for_another_name_is_refused_and_sslhost_names_the_expected_one()
    {
        var (redis, tlsPort) = StartTlsRedis(cert: _certs.OtherNameCert, key: _certs.OtherNameKey);
        using var _ = redis;
        await using (var proxy = await InProcessProxy.StartAsync($"127.0.0.1:{tlsPort},ssl=true", Files()))
        {
            Assert.Equal($"-ERR upstream 127.0.0.1:{tlsPort} unavailable: TLS handshake failed: the certificate is not for the host connected to (name mismatch; set sslHost to the name it carries)\r\n",
                await FirstReplyAsync(proxy));
        }
        await using (var proxy = await InProcessProxy.StartAsync($"127.0.0.1:{tlsPort},ssl=true,sslHost=wrong.example", Files()))
        {
            Assert.StartsWith($"-ERR upstream 127.0.0.1:{tlsPort} unavailable: TLS handshake failed: the certificate is not for wrong.example",
                await FirstReplyAsync(proxy));
        }
        await using (var proxy = await InProcessProxy.StartAsync($"127.0.0.1:{tlsPort},ssl=true,sslHost=other.example", Files()))
        {
            using var c = await RawClient.ConnectAsync(proxy.Port);
            Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
        }
    }

    [Fact]
    public async Task Tls_to_a_plain_port_is_a_failed_handshake_not_a_hang()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync($"{redis.Endpoint},ssl=true", Files());
        Assert.StartsWith($"-ERR upstream {redis.Endpoint} unavailable: TLS handshake failed: ", await FirstReplyAsync(proxy));
    }

    [Fact]
    public async Task A_redis_that_requires_a_client_certificate_none_configured_closes_connections_and_the_proxy_says_why()
    {
        var (redis, tlsPort) = StartTlsRedis(authClients: "yes");
        using var _ = redis;
        using var proxy = new ProxyProcess($"127.0.0.1:{tlsPort},ssl=true", extraArgs: ["--upstream-tls-ca-cert-file", _certs.CaCert]);
        await proxy.WaitListeningAsync();
        // With TLS 1.3 Redis refuses the missing certificate after the handshake, by closing: as to a direct client.
        using var c = await RawClient.ConnectAsync(proxy.Port);
        await c.SendCommandAsync("PING");
        Assert.Equal("", await c.ReadToCloseAsync());
        await proxy.WaitForLogAsync("asks for a client certificate and none is configured", TimeSpan.FromSeconds(15));
    }
}
