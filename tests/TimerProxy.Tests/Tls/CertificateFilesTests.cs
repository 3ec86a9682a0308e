using RedisTimer.Proxy.Tests.Infrastructure;
using RedisTimer.Proxy.Tls;

namespace RedisTimer.Proxy.Tests.Tls;

/// <summary>Rotation: a changed file is read again at the next use after at most a second; a broken one keeps the last good read.</summary>
public sealed class CertificateFilesTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "redistimer-tests", "certfiles-" + Guid.NewGuid().ToString("N"));

    public CertificateFilesTests() => Directory.CreateDirectory(Path.GetDirectoryName(_path)!);

    public void Dispose() => File.Delete(_path);

    private static string Load(string path)
    {
        string text = File.ReadAllText(path);
        if (!text.StartsWith("good:", StringComparison.Ordinal)) throw new System.Security.Cryptography.CryptographicException("not a certificate");
        return text;
    }

    private void Write(string text, int secondsLater)
    {
        File.WriteAllText(_path, text);
        // A distinct modification time, whatever the file system's resolution.
        File.SetLastWriteTimeUtc(_path, DateTime.UtcNow.AddSeconds(secondsLater));
    }

    [Fact]
    public async Task A_changed_file_is_read_again_and_a_broken_one_keeps_the_previous()
    {
        Write("good:1", 0);
        var failures = new List<Exception>();
        var files = new CertificateFiles<string>([_path], () => Load(_path), e => { lock (failures) failures.Add(e); });
        Assert.Equal("good:1", files.Current);

        Write("good:2", 10);
        await TimerFixture.WaitUntilAsync(() => Task.FromResult(files.Current == "good:2"), TimeSpan.FromSeconds(10), "the new file was read");

        Write("-----BEGIN CERT", 20);
        await TimerFixture.WaitUntilAsync(() => Task.FromResult(failures.Count > 0 || files.Current != "good:2"), TimeSpan.FromSeconds(10), "the broken file was tried");
        Assert.Equal("good:2", files.Current);
        Assert.IsType<System.Security.Cryptography.CryptographicException>(Assert.Single(failures));

        Write("good:3", 30);
        await TimerFixture.WaitUntilAsync(() => Task.FromResult(files.Current == "good:3"), TimeSpan.FromSeconds(10), "the repaired file was read");
    }

    [Fact]
    public void A_missing_file_fails_at_once()
    {
        Assert.Throws<FileNotFoundException>(() => new CertificateFiles<string>([_path], () => Load(_path)));
    }
}
