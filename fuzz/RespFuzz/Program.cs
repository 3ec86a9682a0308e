using SharpFuzz;

namespace RedisTimer.Fuzz;

/// <summary>
/// Under afl-fuzz (fuzz/afl-reader.sh): reads each input from standard input and runs <see cref="ReaderChecks"/>,
/// where any exception is a crash. With file arguments: runs each file once and says which fails (to look at a crash
/// outside afl, or check a fix).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0)
        {
            int failed = 0;
            // Not under afl, Fuzzer.Run runs the action once, with a trace map of its own for the instrumented code.
            Fuzzer.Run(_ =>
            {
                foreach (string file in args)
                {
                    try
                    {
                        ReaderChecks.Run(File.ReadAllBytes(file));
                        Console.WriteLine($"ok    {file}");
                    }
                    catch (Exception e)
                    {
                        failed++;
                        Console.WriteLine($"FAIL  {file}: {e}");
                    }
                }
            });
            return failed == 0 ? 0 : 1;
        }
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var input = new MemoryStream();
            stream.CopyTo(input);
            ReaderChecks.Run(input.ToArray());
        });
        return 0;
    }
}
