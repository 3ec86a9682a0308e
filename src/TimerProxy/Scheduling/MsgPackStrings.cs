namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// Decodes what Lua's cmsgpack.pack makes of an array of strings (the keys and args of a timer):
/// fixarray/array16/array32 of fixstr/str8/str16/str32. An empty Lua table may come out as an empty map.
/// </summary>
public static class MsgPackStrings
{
    public static byte[][] Decode(ReadOnlySpan<byte> data)
    {
        int pos = 0;
        byte head = data[pos++];
        long count = head switch
        {
            >= 0x90 and <= 0x9f => head & 0x0f,
            0x80 => 0,
            0xdc => ReadBig(data, ref pos, 2),
            0xdd => ReadBig(data, ref pos, 4),
            _ => throw new InvalidDataException($"not a msgpack array (0x{head:x2})"),
        };
        var items = new byte[count][];
        for (long i = 0; i < count; i++)
        {
            byte h = data[pos++];
            long length = h switch
            {
                >= 0xa0 and <= 0xbf => h & 0x1f,
                0xd9 or 0xc4 => ReadBig(data, ref pos, 1),
                0xda or 0xc5 => ReadBig(data, ref pos, 2),
                0xdb or 0xc6 => ReadBig(data, ref pos, 4),
                _ => throw new InvalidDataException($"not a msgpack string (0x{h:x2})"),
            };
            items[i] = data.Slice(pos, (int)length).ToArray();
            pos += (int)length;
        }
        return items;
    }

    private static long ReadBig(ReadOnlySpan<byte> data, ref int pos, int bytes)
    {
        long v = 0;
        for (int i = 0; i < bytes; i++) v = (v << 8) | data[pos++];
        return v;
    }
}
