using System.Security.Cryptography.X509Certificates;

namespace RedisTimer.Proxy.Tls;

/// <summary>
/// Certificates read from PEM files, read again when a file changes (certificate rotation without a restart).
/// A change is noticed at the next use, at most once a second; a file caught half-written keeps the previous
/// certificates in use and is tried again at the next check.
/// </summary>
public sealed class CertificateFiles<T> where T : class
{
    private readonly string[] _paths;
    private readonly Func<T> _load;
    private readonly Action<Exception>? _reloadFailed;
    private readonly Lock _gate = new();
    private T _current;
    private DateTime[] _stamps;
    private long _nextCheck;

    /// <summary>Reads the files now: a missing or unreadable file is a start-up error.</summary>
    public CertificateFiles(string[] paths, Func<T> load, Action<Exception>? reloadFailed = null)
    {
        _paths = paths;
        _load = load;
        _reloadFailed = reloadFailed;
        _stamps = Stamps();
        _current = load();
        _nextCheck = Environment.TickCount64 + 1000;
    }

    public T Current
    {
        get
        {
            if (Environment.TickCount64 < Volatile.Read(ref _nextCheck)) return _current;
            lock (_gate)
            {
                if (Environment.TickCount64 < _nextCheck) return _current;
                _nextCheck = Environment.TickCount64 + 1000;
                var stamps = Stamps();
                if (stamps.SequenceEqual(_stamps)) return _current;
                try
                {
                    _current = _load();
                    _stamps = stamps;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
                {
                    _reloadFailed?.Invoke(e);
                }
                return _current;
            }
        }
    }

    private DateTime[] Stamps() => _paths.Select(File.GetLastWriteTimeUtc).ToArray();
}

/// <summary>Reading PEM files into what SslStream takes.</summary>
public static class Pem
{
    /// <summary>Every certificate of a PEM file (a CA bundle).</summary>
    public static X509Certificate2Collection ReadCertificates(string path)
    {
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(path);
        if (all.Count == 0) throw new System.Security.Cryptography.CryptographicException($"no certificate in {path}");
        return all;
    }

    /// <summary>A certificate with its private key; further certificates in the file are its chain.</summary>
    public static (X509Certificate2 Certificate, X509Certificate2Collection Chain) ReadIdentity(string certPath, string keyPath)
    {
        var certificate = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        var chain = ReadCertificates(certPath);
        chain.RemoveAt(0);
        return (certificate, chain);
    }
}
