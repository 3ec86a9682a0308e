using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Hosting;

/// <summary>
/// The image without a Docker engine: the Dockerfile's final stage is read, and the published binary (artifacts/proxy,
/// what the build stage publishes the same way) is copied into a directory standing for its WORKDIR and run with exactly
/// its ENTRYPOINT and ENV (nothing else of the test's environment but PATH), as the user it names when the test runs
/// as root; then its HEALTHCHECK command is run the same way. Only the port is set apart from the image (the image's
/// 6380 may be taken here), and, for the upstream case, Proxy__Upstream.
/// </summary>
public class DockerImageTests
{
    /// <summary>APP_UID of the mcr.microsoft.com/dotnet runtime images (the user "app"), which <c>USER $APP_UID</c> names.</summary>
    private const int AppUid = 1654;

    private static readonly DockerfileStage Image = DockerfileStage.Parse(File.ReadAllText(OptionsTests.RepositoryFile("Dockerfile")));

    [Fact]
    public void The_final_stage_runs_the_published_proxy_as_a_non_root_user_with_a_shell_free_health_check()
    {
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.0", Image.From);
        Assert.Equal("/app", Image.WorkDir);
        Assert.NotNull(Image.Entrypoint);
        Assert.Equal(["dotnet", "RedisTimer.Proxy.dll"], Image.Entrypoint);
        Assert.Equal("$APP_UID", Image.User);
        Assert.NotNull(Image.HealthCheckCommand);
        Assert.Equal(["dotnet", "RedisTimer.Proxy.dll", "--healthcheck"], Image.HealthCheckCommand);
        Assert.Equal("0.0.0.0", Image.Env["Proxy__ListenAddress"]);
        Assert.Equal("6380", Image.Env["Proxy__Port"]);
        // The embedded redis-server's data directory (data/redis under the working directory) is in the volume, which
        // the non-root user owns.
        Assert.Equal(["/app/data"], Image.Volumes);
        Assert.Contains(Image.Runs, run => run.Contains("chown \"$APP_UID\" /app/data"));
        // Docker gives the health check this long; the binary's own limit is shorter, so a hung check reports itself.
        Assert.True(Image.HealthCheckDuration("--timeout", TimeSpan.FromSeconds(30)) > RedisTimer.Proxy.Hosting.HealthCheck.DefaultTimeout);
    }

    [Fact]
    public async Task With_an_upstream_the_image_is_healthy_serves_timers_and_turns_unhealthy_when_redis_stops()
    {
        using var redis = new RedisServer();
        using var image = ImageRun.Start(new() { ["Proxy__Upstream"] = redis.Endpoint });
        await image.WaitListeningAsync();
        image.AssertUser();

        var healthy = await image.HealthCheckAsync();
        Assert.True(healthy.Code == 0, $"health check exit {healthy.Code}: {healthy.Stderr}\nproxy:\n{image.Output}");

        using (var direct = await RawClient.ConnectAsync(redis.Port)) await TimerFixture.LoadTestLibraryAsync(direct);
        using (var client = await RawClient.ConnectAsync(image.Port))
        {
            Assert.Equal(":1\r\n", await client.CallAsync("TIMER.NEW", "docker:t", "rt_count", 50, 1, "docker:fired"));
            await TimerFixture.WaitUntilAsync(async () => await client.CallAsync("GET", "docker:fired") == "$1\r\n1\r\n",
                TimeSpan.FromSeconds(15), "the timer created through the image's proxy fired");
        }

        redis.Stop();
        var down = await image.HealthCheckAsync();
        Assert.Equal(1, down.Code);
        Assert.Single(down.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"-ERR upstream {redis.Endpoint} unavailable", down.Stderr);
    }

    [Fact]
    public async Task With_the_images_defaults_it_runs_an_embedded_redis_in_the_volume_and_is_healthy()
    {
        using var image = ImageRun.Start(new());
        int redisPid = 0;
        try
        {
            await image.WaitListeningAsync();
            image.AssertUser();
            var match = Regex.Match(image.Output, @"Embedded redis-server \(pid (\d+)\) listening on 127\.0\.0\.1:\d+, data in (\S+)");
            Assert.True(match.Success, image.Output);
            redisPid = int.Parse(match.Groups[1].Value);
            Assert.Equal(Path.Combine(image.WorkDir, "data", "redis"), match.Groups[2].Value);

            var healthy = await image.HealthCheckAsync();
            Assert.True(healthy.Code == 0, $"health check exit {healthy.Code}: {healthy.Stderr}\nproxy:\n{image.Output}");
            using (var client = await RawClient.ConnectAsync(image.Port))
                Assert.Equal("+OK\r\n", await client.CallAsync("SET", "docker:k", "v"));
            Assert.True(Directory.Exists(Path.Combine(image.WorkDir, "data", "redis", "appendonlydir")));

            image.Stop();
            Assert.False(Signals.IsAlive(redisPid), "embedded redis-server still running after the proxy stopped");
        }
        finally
        {
            if (redisPid != 0 && Signals.IsAlive(redisPid)) Signals.Send(redisPid, Signals.SIGKILL);
        }
    }

    /// <summary>The published proxy in a directory laid out as the image's WORKDIR, run with the image's entry point.</summary>
    private sealed class ImageRun : IDisposable
    {
        private readonly string _root;
        private readonly Dictionary<string, string> _environment;
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        public string WorkDir { get; }
        public int Port { get; }
        public string Output { get { lock (_output) return _output.ToString(); } }

        private static bool AsAppUser => Environment.IsPrivilegedProcess;

        private ImageRun(Dictionary<string, string> overrides)
        {
            var published = Path.Combine(OptionsTests.RepositoryFile("artifacts"), "proxy");
            // Not the build next to the tests (ProxyProcess may take that one): the image holds what publish makes.
            // scripts/setup.sh (so scripts/test.sh) publishes it; after changing the proxy, run scripts/publish-proxy.sh.
            if (!File.Exists(Path.Combine(published, "RedisTimer.Proxy.dll")))
                throw new InvalidOperationException($"no published proxy in {published}: run scripts/publish-proxy.sh (scripts/setup.sh does)");

            _root = Directory.CreateTempSubdirectory("redistimer-image-").FullName;
            File.SetUnixFileMode(_root, (UnixFileMode)0b111_101_101);
            // COPY --from=build /app ./ into WORKDIR; then the RUN that makes the volume's directory the app user's.
            WorkDir = Path.Combine(_root, Image.WorkDir.TrimStart('/'));
            CopyTree(published, WorkDir);
            var data = Directory.CreateDirectory(Path.Combine(WorkDir, "data")).FullName;
            var home = Directory.CreateDirectory(Path.Combine(_root, "home")).FullName;
            if (AsAppUser)
            {
                Chown(data, AppUid);
                Chown(home, AppUid);
            }

            Port = FreePort.Next();
            _environment = new Dictionary<string, string>(Image.Env)
            {
                ["PATH"] = Environment.GetEnvironmentVariable("PATH")!,
                ["HOME"] = home,
                ["Proxy__Port"] = Port.ToString(),
            };
            foreach (var (k, v) in overrides) _environment[k] = v;

            _process = new Process { StartInfo = StartInfo(Image.Entrypoint!) };
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public static ImageRun Start(Dictionary<string, string> overrides) => new(overrides);

        /// <summary>The user the proxy runs as: the image's when the test could switch to it (/proc's real and effective uid).</summary>
        public void AssertUser()
        {
            var uids = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("Uid:")).Split('\t', StringSplitOptions.RemoveEmptyEntries);
            int expected = AsAppUser ? AppUid : int.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:")).Split('\t')[1]);
            Assert.Equal(expected.ToString(), uids[1]);
            Assert.Equal(expected.ToString(), uids[2]);
            Assert.NotEqual("0", uids[2]);
        }

        // The exec-form command with the image's working directory and environment only; as USER $APP_UID when the
        // test may switch users (setpriv, util-linux), else as the test's own (non-root) user.
        private ProcessStartInfo StartInfo(string[] command)
        {
            var info = new ProcessStartInfo(AsAppUser ? "setpriv" : command[0])
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = WorkDir,
            };
            if (AsAppUser)
                foreach (var a in new[] { $"--reuid={AppUid}", $"--regid={AppUid}", "--clear-groups", "--", command[0] })
                    info.ArgumentList.Add(a);
            foreach (var a in command.Skip(1)) info.ArgumentList.Add(a);
            info.Environment.Clear();
            foreach (var (k, v) in _environment) info.Environment[k] = v;
            return info;
        }

        public async Task WaitListeningAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                if (_process.HasExited) throw new InvalidOperationException($"the image's proxy exited with {_process.ExitCode}:\n{Output}");
                try
                {
                    using var c = new TcpClient();
                    await c.ConnectAsync("127.0.0.1", Port);
                    return;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(50);
                }
            }
        }

        /// <summary>Runs the HEALTHCHECK command as Docker would (in the container: same directory, user, environment),
        /// failing when it takes longer than the HEALTHCHECK's --timeout.</summary>
        public async Task<(int Code, string Stdout, string Stderr)> HealthCheckAsync()
        {
            var limit = Image.HealthCheckDuration("--timeout", TimeSpan.FromSeconds(30));
            using var check = Process.Start(StartInfo(Image.HealthCheckCommand!))!;
            var stdout = check.StandardOutput.ReadToEndAsync();
            var stderr = check.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(limit);
            try
            {
                await check.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                check.Kill();
                throw new TimeoutException($"the health check took longer than the HEALTHCHECK --timeout {limit}");
            }
            return (check.ExitCode, await stdout, await stderr);
        }

        /// <summary>SIGTERM, as <c>docker stop</c> sends, and the wait for the exit.</summary>
        public void Stop()
        {
            if (_process.HasExited) return;
            Signals.Send(_process.Id, Signals.SIGTERM);
            if (!_process.WaitForExit(20_000)) throw new TimeoutException($"the image's proxy did not stop on SIGTERM:\n{Output}");
            _process.WaitForExit();
        }

        private static void CopyTree(string from, string to)
        {
            Directory.CreateDirectory(to);
            foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
            foreach (var dir in Directory.GetDirectories(from)) CopyTree(dir, Path.Combine(to, Path.GetFileName(dir)));
        }

        private static void Chown(string path, int uid)
        {
            if (Chown(path, uid, uid) != 0) throw new IOException($"chown {uid} {path} failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "chown", SetLastError = true)]
        private static extern int Chown(string path, int owner, int group);

        public void Dispose()
        {
                Signals.Stop(_process);
            _process.Dispose();
            try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
