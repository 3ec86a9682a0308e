using RedisTimer.Proxy.Hosting;
using RedisTimer.Proxy.Upstream;

namespace RedisTimer.Proxy.Tests.Upstream;

/// <summary><c>Proxy:Upstream</c> as host:port or a StackExchange.Redis configuration string, merged with the upstream switches.</summary>
public class UpstreamSettingsTests
{
    private static (UpstreamSettings? Settings, List<string> Errors) Parse(string upstream, ProxyOptions? options = null)
    {
        var errors = new List<string>();
        var settings = UpstreamSettings.TryParse(options ?? new ProxyOptions(), upstream, errors);
        Assert.True(settings is null == errors.Count > 0, string.Join("; ", errors));
        return (settings, errors);
    }

    [Theory]
    [InlineData("127.0.0.1:7000", "127.0.0.1", 7000)]
    [InlineData("localhost", "localhost", 6379)]
    [InlineData("cache.example.com:6380", "cache.example.com", 6380)]
    [InlineData("[::1]:7001", "::1", 7001)]
    public void A_host_with_or_without_port_is_one_endpoint(string upstream, string host, int port)
    {
        var (settings, _) = Parse(upstream);
        Assert.Equal((host, port), settings!.HostAndPort());
        Assert.Equal(0, settings.Database);
        Assert.Null(settings.Password);
    }

    [Fact]
    public void A_configuration_string_gives_credentials_database_and_timeout()
    {
        var (settings, _) = Parse("redis1:6379, user=app ,password=p=w:rd,defaultDatabase=3,connectTimeout=250");
        Assert.Equal(("redis1", 6379), settings!.HostAndPort());
        Assert.Equal("app", settings.User);
        Assert.Equal("p=w:rd", settings.Password);
        Assert.Equal(3, settings.Database);
        Assert.Equal(250, settings.ConnectTimeoutMs);
        Assert.Equal("redis1:6379", settings.ToString());
    }

    [Fact]
    public void Several_endpoints_or_sentinels_with_a_service_name_are_kept_for_the_master_to_be_found()
    {
        var (several, _) = Parse("a:1,b:2");
        Assert.Equal(["a:1", "b:2"], several!.Endpoints.Select(StackExchange.Redis.EndPointCollection.ToString));
        Assert.Null(several.ServiceName);
        var (sentinels, _) = Parse("s1:26379,s2:26379,serviceName=mymaster");
        Assert.Equal("mymaster", sentinels!.ServiceName);
        Assert.Equal("s1:26379,s2:26379 service mymaster", sentinels.ToString());
        var endpoint = new UpstreamEndpoint();
        endpoint.Set(sentinels);
        Assert.True(endpoint.NeedsLocating);
        Assert.Null(endpoint.CurrentMaster);
        Assert.Throws<UpstreamUnavailableException>(() => endpoint.HostAndPort);
    }

    [Fact]
    public void The_switches_apply_when_the_string_does_not_say_otherwise()
    {
        var options = new ProxyOptions { UpstreamUser = "u", UpstreamPassword = "pw", UpstreamDatabase = 4, UpstreamConnectTimeoutMs = 900 };
        var (settings, _) = Parse("h:1", options);
        Assert.Equal(("u", "pw", 4, 900), (settings!.User, settings.Password, settings.Database, settings.ConnectTimeoutMs));
        var (same, _) = Parse("h:1,user=u,password=pw,defaultDatabase=4", options);
        Assert.Equal(("u", "pw", 4), (same!.User, same.Password, same.Database));
    }

    [Fact]
    public void Client_only_keywords_of_an_application_string_are_accepted_and_reported()
    {
        var (settings, _) = Parse("mycache:6380,password=x,abortConnect=False,name=web,syncTimeout=100,allowAdmin=true");
        Assert.Equal(["abortConnect", "name", "syncTimeout", "allowAdmin"], settings!.IgnoredKeywords);
    }

    [Theory]
    [InlineData("h:1,foo=bar", "Proxy:Upstream: Keyword 'foo' is not supported.")]
    [InlineData("h:1,defaultDatabase=x", "Proxy:Upstream: Keyword 'defaultDatabase' requires an integer value; the value 'x' is not recognised.")]
    [InlineData("h:1,defaultDatabase=-1", "Proxy:Upstream: defaultDatabase must be 0 or more, not -1")]
    [InlineData("h:1,connectTimeout=0", "Proxy:Upstream: connectTimeout must be 1..600000 ms, not 0")]
    [InlineData("h:abc", "Proxy:Upstream: 'h:abc' is not host[:port] (Could not parse host and port from 'h:abc')")]
    [InlineData("h:70000", "Proxy:Upstream: port ('70000') must be less than or equal to '65535'.")]
    [InlineData("password=x", "Proxy:Upstream: names no endpoint (host[:port])")]
    [InlineData("h:1,proxy=twemproxy", "Proxy:Upstream: 'proxy' is not supported")]
    [InlineData("h:1,$CONFIG=cfg", "Proxy:Upstream: renamed commands ('$CONFIG=') are not supported")]
    [InlineData("s1:26379,serviceName=", "Proxy:Upstream: serviceName is empty")]
    public void A_string_refused_by_the_library_or_by_us_names_the_problem(string upstream, string expected)
    {
        var (_, errors) = Parse(upstream);
        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_conflict_with_a_switch_is_refused_without_showing_the_password()
    {
        var (_, errors) = Parse("h:1,user=app,password=Str1ngSecret,defaultDatabase=2",
            new ProxyOptions { UpstreamUser = "ops", UpstreamPassword = "Sw1tchSecret", UpstreamDatabase = 5 });
        Assert.Equal(
        [
            "Proxy:Upstream: user=app conflicts with Proxy:UpstreamUser=ops",
            "Proxy:Upstream: password conflicts with Proxy:UpstreamPassword (set it in one place)",
            "Proxy:Upstream: defaultDatabase=2 conflicts with Proxy:UpstreamDatabase=5",
        ], errors);
    }

    [Fact]
    public void The_description_names_the_endpoint_and_never_the_password()
    {
        var (settings, _) = Parse("h:1,password=Str1ngSecret");
        var endpoint = new UpstreamEndpoint();
        endpoint.Set(settings!);
        Assert.Equal("h:1", endpoint.ToString());
    }
}
