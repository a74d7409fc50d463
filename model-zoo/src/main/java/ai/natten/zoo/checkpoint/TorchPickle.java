package ai.natten.zoo.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal unpickler for the {@code data.pkl} of PyTorch's zip checkpoints (protocols 2 to 5):
 * dictionaries, lists, tuples, strings, numbers, {@code collections.OrderedDict}, and tensors
 * rebuilt by {@code torch._utils._rebuild_tensor_v2} (or {@code _rebuild_parameter}) from
 * persistent storages. It executes no code: any other global is an {@link IOException} naming it.
 */
final class TorchPickle {

    /** A storage reference: element type and the key of its file {@code data/<key>}. */
    record Storage(Floats.Type type, String key) {}

    /** A tensor view of a storage. */
    record TensorRef(Storage storage, long offset, long[] size, long[] stride) {}

    /** A global the reader knows, by its module and name. */
    private record Global(String module, String name) {}

    private static final Object MARK = new Object();

    /** Python's None. */
    static final Object NONE = new Object();

    private final ByteBuffer in;
    private final Deque<Object> stack = new ArrayDeque<>();
    private final Deque<Integer> marks = new ArrayDeque<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private TorchPickle(byte[] bytes) {
        this.in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Unpickles {@code bytes}, returning the top object. */
    static Object load(byte[] bytes) throws IOException {
        try {
            return new TorchPickle(bytes).run();
        } catch (java.nio.BufferUnderflowException | ClassCastException e) {
            throw new IOException("malformed pickle: " + e, e);
        }
    }

    @SuppressWarnings("unchecked")
    private Object run() throws IOException {
        while (true) {
            int op = in.get() & 0xff;
            switch (op) {
                case 0x80: // PROTO
                    in.get();
                    break;
                case 0x95: // FRAME
                    in.getLong();
                    break;
                case '.': // STOP
                    return pop();
                case '(':
                    marks.push(stack.size());
                    stack.push(MARK);
                    break;
                case ')':
                    stack.push(new Object[0]);
                    break;
                case 't':
                    stack.push(popMark().toArray());
                    break;
                case 0x85:
                    stack.push(new Object[] {pop()});
                    break;
                case 0x86:
                    {
                        Object b = pop();
                        stack.push(new Object[] {pop(), b});
                        break;
                    }
                case 0x87:
                    {
                        Object c = pop();
                        Object b = pop();
                        stack.push(new Object[] {pop(), b, c});
                        break;
                    }
                case ']':
                    stack.push(new ArrayList<>());
                    break;
                case 'l':
                    stack.push(new ArrayList<>(popMark()));
                    break;
                case 'a':
                    {
                        Object value = pop();
                        ((List<Object>) stack.peek()).add(value);
                        break;
                    }
                case 'e':
                    {
                        List<Object> items = popMark();
                        ((List<Object>) stack.peek()).addAll(items);
                        break;
                    }
                case '}':
                    stack.push(new LinkedHashMap<>());
                    break;
                case 's':
                    {
                        Object value = pop();
                        Object key = pop();
                        ((Map<Object, Object>) stack.peek()).put(key, value);
                        break;
                    }
                case 'u':
                    {
                        List<Object> items = popMark();
                        Map<Object, Object> map = (Map<Object, Object>) stack.peek();
                        for (int i = 0; i < items.size(); i += 2) {
                            map.put(items.get(i), items.get(i + 1));
                        }
                        break;
                    }
                case 'N':
                    stack.push(NONE);
                    break;
                case 0x88:
                    stack.push(Boolean.TRUE);
                    break;
                case 0x89:
                    stack.push(Boolean.FALSE);
                    break;
                case 'K':
                    stack.push((long) (in.get() & 0xff));
                    break;
                case 'M':
                    stack.push((long) (in.getShort() & 0xffff));
                    break;
                case 'J':
                    stack.push((long) in.getInt());
                    break;
                case 0x8a: // LONG1
                    stack.push(long1(in.get() & 0xff));
                    break;
                case 'G':
                    stack.push(in.order(ByteOrder.BIG_ENDIAN).getDouble());
                    in.order(ByteOrder.LITTLE_ENDIAN);
                    break;
                case 'X':
                    stack.push(string(in.getInt()));
                    break;
                case 0x8c:
                    stack.push(string(in.get() & 0xff));
                    break;
                case 0x8d:
                    stack.push(string(Math.toIntExact(in.getLong())));
                    break;
                case 'U':
                    stack.push(string(in.get() & 0xff));
                    break;
                case 'T':
                    stack.push(string(in.getInt()));
                    break;
                case 'q':
                    memo.put((long) (in.get() & 0xff), stack.peek());
                    break;
                case 'r':
                    memo.put(in.getInt() & 0xffffffffL, stack.peek());
                    break;
                case 0x94: // MEMOIZE
                    memo.put((long) memo.size(), stack.peek());
                    break;
                case 'h':
                    stack.push(memoGet(in.get() & 0xff));
                    break;
                case 'j':
                    stack.push(memoGet(in.getInt() & 0xffffffffL));
                    break;
                case 'c':
                    stack.push(global(line(), line()));
                    break;
                case 0x93: // STACK_GLOBAL
                    {
                        String name = (String) pop();
                        stack.push(global((String) pop(), name));
                        break;
                    }
                case 'R':
                case 0x81: // NEWOBJ
                    {
                        Object[] args = (Object[]) pop();
                        stack.push(call((Global) pop(), args));
                        break;
                    }
                case 'Q': // BINPERSID
                    stack.push(persistent((Object[]) pop()));
                    break;
                case 'b': // BUILD: state of an OrderedDict (its _metadata) is not needed
                    pop();
                    break;
                default:
                    throw new IOException(
                            String.format(
                                    "unsupported pickle opcode 0x%02x at byte %d",
                                    op, in.position() - 1));
            }
        }
    }

    private Object pop() {
        return stack.pop();
    }

    private List<Object> popMark() {
        int size = marks.pop();
        List<Object> items = new ArrayList<>();
        while (stack.size() > size + 1) {
            items.add(0, stack.pop());
        }
        stack.pop(); // the mark
        return items;
    }

    private Object memoGet(long key) throws IOException {
        Object value = memo.get(key);
        if (value == null) {
            throw new IOException("pickle refers to missing memo entry " + key);
        }
        return value;
    }

    private String string(int length) {
        byte[] bytes = new byte[length];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private String line() {
        StringBuilder text = new StringBuilder();
        for (byte b = in.get(); b != '\n'; b = in.get()) {
            text.append((char) b);
        }
        return text.toString();
    }

    private long long1(int length) throws IOException {
        if (length > 8) {
            throw new IOException("integer of " + length + " bytes in pickle");
        }
        long value = 0;
        for (int i = 0; i < length; i++) {
            value |= (in.get() & 0xffL) << (8 * i);
        }
        if (length > 0 && length < 8 && (value & (1L << (8 * length - 1))) != 0) {
            value -= 1L << (8 * length);
        }
        return value;
    }

    private static Object global(String module, String name) throws IOException {
        String full = module + "." + name;
        switch (full) {
            case "collections.OrderedDict":
            case "torch._utils._rebuild_tensor_v2":
            case "torch._utils._rebuild_parameter":
            case "torch.FloatStorage":
            case "torch.HalfStorage":
            case "torch.BFloat16Storage":
            case "torch.DoubleStorage":
                return new Global(module, name);
            default:
                throw new IOException(
                        "checkpoint pickle uses "
                                + full
                                + ", which a state dict of float tensors does not need");
        }
    }

    private static Object call(Global global, Object[] args) throws IOException {
        switch (global.name()) {
            case "OrderedDict":
                return new LinkedHashMap<>();
            case "_rebuild_tensor_v2":
                return new TensorRef(
                        (Storage) args[0],
                        (Long) args[1],
                        longs((Object[]) args[2]),
                        longs((Object[]) args[3]));
            case "_rebuild_parameter":
                return args[0];
            default:
                throw new IOException("cannot call " + global.module() + "." + global.name());
        }
    }

    private static Object persistent(Object[] id) throws IOException {
        if (id.length < 3 || !"storage".equals(id[0]) || !(id[1] instanceof Global type)) {
            throw new IOException("unsupported persistent id in checkpoint");
        }
        Floats.Type element;
        switch (type.name()) {
            case "FloatStorage":
                element = Floats.Type.F32;
                break;
            case "HalfStorage":
                element = Floats.Type.F16;
                break;
            case "BFloat16Storage":
                element = Floats.Type.BF16;
                break;
            case "DoubleStorage":
                element = Floats.Type.F64;
                break;
            default:
                throw new IOException("unsupported storage type " + type.name());
        }
        return new Storage(element, (String) id[2]);
    }

    private static long[] longs(Object[] values) {
        long[] result = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            result[i] = (Long) values[i];
        }
        return result;
    }
}
