namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// Reads what Lua's cmsgpack.pack makes of an array of strings (a timer's definition):
/// fixarray/array16/array32 of fixstr/str8/str16/str32 (or bin). An empty Lua table may come out as an empty map.
/// </summary>
public static class MsgPackStrings
{
    /// <summary>Walks the array without copying: <see cref="Count"/>, then each item's bytes in turn.</summary>
    public ref struct Reader
    {
        private readonly ReadOnlySpan<byte> _data;
        private int _pos;
        private long _left;

        public Reader(ReadOnlySpan<byte> data)
        {
            _data = data;
            byte head = Byte();
            Count = head switch
            {
                >= 0x90 and <= 0x9f => head & 0x0f,
                0x80 => 0,
                0xdc => Big(2),
                0xdd => Big(4),
                _ => throw new InvalidDataException($"not a msgpack array (0x{head:x2})"),
            };
            // Every item takes at least its one header byte: a larger count is a malformed value, not an allocation.
            if (Count > data.Length - _pos) throw new InvalidDataException("msgpack array longer than its data");
            _left = Count;
        }

        public long Count { get; }

        public bool TryRead(out ReadOnlySpan<byte> item)
        {
            if (_left == 0)
            {
                item = default;
                return false;
            }
            byte h = Byte();
            long length = h switch
            {
                >= 0xa0 and <= 0xbf => h & 0x1f,
                0xd9 or 0xc4 => Big(1),
                0xda or 0xc5 => Big(2),
                0xdb or 0xc6 => Big(4),
                _ => throw new InvalidDataException($"not a msgpack string (0x{h:x2})"),
            };
            if (length > _data.Length - _pos) throw new InvalidDataException("msgpack string longer than its data");
            item = _data.Slice(_pos, (int)length);
            _pos += (int)length;
            _left--;
            return true;
        }

        private byte Byte() => _pos < _data.Length ? _data[_pos++] : throw new InvalidDataException("msgpack value cut short");

        private long Big(int bytes)
        {
            long v = 0;
            for (int i = 0; i < bytes; i++) v = (v << 8) | Byte();
            return v;
        }
    }
}
