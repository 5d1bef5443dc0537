// The compiled kernel's snapshot: Kernel::dump() and Kernel::load().
//
// A dump is the kernel's logical state, not its memory: pool indices, the
// free list, the hash tables' slots and the price window are how this build
// happens to hold the state, so they are left out and load rebuilds them. Two
// kernels in the same logical state dump the same bytes (the tests compare a
// loaded kernel's dump with the original's after both ran the same records).
//
// Layout "RKC1", version 3; every integer little-endian, no padding:
//
//   offset  size  field
//   0       4     magic b"RKC1" (the snapshot file's kernel format)
//   4       4     u32 layout version (3; versions 1 and 2 still load)
//   8       8     u64 last_seq
//   16      8     u64 trade_id: the last trade id given
//   24      4     u32 symbols defined (ids 1..n)
//   28      4     u32 accounts defined (ids 1..n)
//   32      8     u64 R: live orders (resting, held stops, waiting market orders)
//   40      8     u64 U: ranges of used order ids
//   48      8     u64 C: client order ids
//   56      8     u64 L: accounts with a live session
//   64            R orders, 96 bytes each, account by account (ascending), each
//                 account's in its list's order (the order of a mass cancel):
//                   +0 u64 order id, +8 u64 client order id (0: none),
//                   +16 i64 price (a held STOP's: 0), +24 i64 qty (an iceberg's
//                   slice), +32 i64 cum (traded), +40 u32 account, +44 u16 symbol,
//                   +46 u8 side (1 buy, 2 sell), +47 u8 STP code | 0x80 if post-only,
//                   +48 u32 its place in its queue (its price level's, its
//                   book's held stops in release order, or its book's market
//                   orders waiting in a call phase in entry order): 0 first,
//                   +52 u8 1 if it took the venue's path (the rest is 0 if not),
//                   +53 u8 its NEW's order type, +54 u8 its NEW's tif code,
//                   +55 u8 1 if a held stop, 2 if a waiting market order (version
//                   3; 0: in a level), +56 i64 trigger price (a held stop's),
//                   +64 i64 display quantity (an iceberg's), +72 i64 hidden
//                   quantity, +80 i64 expire_ts (a GTD's), +88 u64 its NEW's seq
//   then          U ranges, 16 bytes each, ascending, neither overlapping nor
//                 touching: u64 first id, u64 count (>= 1). Every order id a
//                 NEW ever used: a gateway's or a file's ids are mostly dense,
//                 so a million ids are a handful of ranges.
//   then          C client ids, 20 bytes each, ascending by (account, client):
//                   u32 account, u64 client order id, u64 order id
//   then          L live accounts, ascending by account, each:
//                   u32 account, u8 armed (1: cancel on disconnect),
//                   u32 P sessions (>= 1), P x (u64 worker, u64 session) ascending
//   then          i64 the time (V-TIME-1: the largest ts an input brought; 0: none)
//   then          u64 E, then E expiries ascending (the GTD queue, gone orders'
//                 entries too: the core's next Clock reads the first), 24 bytes
//                 each: i64 expire_ts, u64 seq of the NEW, u64 order id
//   then          one i64 per symbol (id 1 first): its last trade's price (0: none)
//   then          (version 3) per symbol (id 1 first), 36 bytes: u8 its trading phase's
//                 code (PHASE), i64 its configured reference price (0: none), u8 1
//                 if an indicative was published in this call phase, then that
//                 indicative: u8 imbalance side (0: none), i64 price, i64 volume,
//                 i64 imbalance; u8 0 (spare)
//   then          u32 crc32c (Castagnoli, as the journal's) of every byte before it
//   end           nothing after it
//
// Version 2 is version 3 without the phases: every book CONTINUOUS, none waiting.
// Version 1 is version 2 without the venue's fields: 48-byte orders (+0 to +47
// above) in entry order, an order after both its level's and its account's
// predecessor (each queue a subsequence of the entries, which an iceberg's
// refresh to the back breaks: hence the places of version 2), and nothing
// between the sessions and the checksum.
//
// The checksum is checked first: a garbled dump is refused before anything is
// built. Without it a flipped bit in a range's count could ask load for up to
// last_seq ids (2^40 and more when the seqs jump), minutes of work for one
// bad byte. The checks after it (counts against the bytes left, ids defined,
// queues whole and in order, a book not crossed) refuse a dump that is well
// formed but not a state, e.g. one cut short and re-checksummed. (A book in a
// call phase, or CLOSED after one, may be crossed: nothing matched there.)
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kernel.hpp"

namespace rm {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the dump is written by memcpy: a big-endian build would have to swap");

namespace {

constexpr char MAGIC[4] = {'R', 'K', 'C', '1'};
constexpr uint32_t VERSION = 3;  // 1 (no venue state) and 2 (no phases) still load
constexpr std::size_t HEADER = 64;
constexpr std::size_t ORDER_BYTES_V1 = 48;
constexpr std::size_t ORDER_BYTES = 96;
constexpr std::size_t EXPIRY_BYTES = 24;
constexpr std::size_t RANGE_BYTES = 16;
constexpr std::size_t CLIENT_BYTES = 20;

// CRC-32C (reflected polynomial 0x82F63B78), the journal's checksum: the
// SSE4.2 instruction where the CPU has it (~10 GB/s: a million orders' dump
// in a few ms), else a table.
uint32_t crc32c_table(uint32_t crc, const unsigned char* p, std::size_t n) {
    static const auto table = [] {
        std::vector<uint32_t> t(256);
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
            t[i] = c;
        }
        return t;
    }();
    for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
[[gnu::target("sse4.2")]] uint32_t crc32c_hw(uint32_t crc, const unsigned char* p, std::size_t n) {
    uint64_t c = crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    uint32_t c32 = static_cast<uint32_t>(c);
    for (; n > 0; ++p, --n) c32 = __builtin_ia32_crc32qi(c32, *p);
    return c32;
}
#endif

uint32_t crc32c(const char* data, std::size_t n) {
    const auto* p = reinterpret_cast<const unsigned char*>(data);
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) return ~crc32c_hw(~0u, p, n);
#endif
    return ~crc32c_table(~0u, p, n);
}

template <class T>
void put(std::string& out, T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

[[noreturn]] void bad(const std::string& why) {
    throw std::invalid_argument("not a valid compiled kernel dump: " + why);
}

// Reads the blob front to back; every read is checked against its end.
class Reader {
  public:
    Reader(const char* p, std::size_t n) : p_(p), n_(n) {}

    template <class T>
    T get(const char* what) {
        if (n_ - pos_ < sizeof(T)) bad(std::string("truncated in ") + what);
        T v;
        std::memcpy(&v, p_ + pos_, sizeof v);
        pos_ += sizeof v;
        return v;
    }
    // A count of items of `size` bytes each: no more than the bytes left could
    // hold, so a garbled count cannot make load reserve memory for it.
    uint64_t count(const char* what, std::size_t size) {
        const uint64_t c = get<uint64_t>(what);
        if (c > (n_ - pos_) / size) bad(std::string(what) + ": more than the dump holds");
        return c;
    }
    std::size_t left() const { return n_ - pos_; }

  private:
    const char* p_;
    std::size_t n_;
    std::size_t pos_ = 0;
};

}  // namespace

std::string Kernel::dump() const {
    // The pre-trade stage's state (limits, live orders, kill switches) is not in
    // layout 1: refuse rather than write a snapshot that would lose it. (With the
    // stage on, the core writes dump_books() and dump_stage() side by side.)
    if (risk_on_)
        throw std::logic_error("kernel dump: the pre-trade stage is on, and RKC1 v1 has no room for its state");
    return dump_books();
}

std::string Kernel::dump_books() const {
    // The used ids as ascending ranges: the bitmap's runs merged with the
    // hash set's ids (which may lie below the bitmap's end, never in it).
    // Inclusive [first, last]: an id may be UINT64_MAX, whose end would wrap.
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    auto add_id_run = [&ranges](uint64_t first, uint64_t last) {
        if (!ranges.empty() && ranges.back().second + 1 == first) ranges.back().second = last;
        else ranges.emplace_back(first, last);
    };
    {
        std::vector<uint64_t> sparse = used_.sparse_ids();
        std::sort(sparse.begin(), sparse.end());
        std::size_t s = 0;
        const std::vector<uint64_t>& words = used_.bitmap_words();
        for (std::size_t w = 0; w < words.size(); ++w) {
            uint64_t bits = words[w];
            while (bits != 0) {
                const uint64_t start = 64 * w + static_cast<uint64_t>(__builtin_ctzll(bits));
                // The run of set bits from `start` within this word.
                const uint64_t shifted = bits >> (start & 63);
                const uint64_t len = ~shifted == 0 ? 64 - (start & 63)
                                                   : static_cast<uint64_t>(__builtin_ctzll(~shifted));
                while (s < sparse.size() && sparse[s] < start) {
                    add_id_run(sparse[s], sparse[s]);
                    ++s;
                }
                add_id_run(start, start + len - 1);
                bits = (start & 63) + len >= 64 ? 0 : bits & (~uint64_t{0} << ((start & 63) + len));
            }
        }
        for (; s < sparse.size(); ++s) add_id_run(sparse[s], sparse[s]);
    }

    std::vector<std::pair<std::pair<uint32_t, uint64_t>, uint64_t>> clients;
    clients.reserve(client_ids_.size());
    client_ids_.each([&clients](uint32_t account, uint64_t client, uint64_t id) {
        clients.push_back({{account, client}, id});
    });
    std::sort(clients.begin(), clients.end());

    const SessionTable::Live& live = sessions_.live();

    std::string out;
    out.reserve(HEADER + resting_ * ORDER_BYTES + ranges.size() * RANGE_BYTES +
                clients.size() * CLIENT_BYTES);
    out.append(MAGIC, 4);
    put<uint32_t>(out, VERSION);
    put<uint64_t>(out, last_seq_);
    put<uint64_t>(out, trade_id_);
    put<uint32_t>(out, n_symbols_);
    put<uint32_t>(out, n_accounts_);
    put<uint64_t>(out, resting_);
    put<uint64_t>(out, ranges.size());
    put<uint64_t>(out, clients.size());
    put<uint64_t>(out, live.size());

    // Each order's place in its queue (its level's, or its book's held stops'),
    // by pool index, sized by the largest index an account list holds.
    uint32_t top = 0;
    for (uint32_t a = 1; a <= n_accounts_; ++a)
        for (uint32_t i = accounts_[a].head; i != NIL; i = pool_[i].acct_next) top = std::max(top, i + 1);
    std::vector<uint32_t> rank(top, 0);
    for (uint32_t sym = 1; sym <= n_symbols_; ++sym) {
        const Book& b = books_[sym];
        auto ranks = [this, &rank](const auto& side) {
            if (side.empty()) return;
            int64_t px = side.best();
            for (;;) {
                uint32_t r = 0;
                for (uint32_t i = side.level(px).head; i != NIL; i = pool_[i].next) rank[i] = r++;
                if (!side.next_worse(px, px)) return;
            }
        };
        ranks(b.bids);
        ranks(b.asks);
        uint32_t r = 0;
        for (uint32_t i = b.stops.head; i != NIL; i = pool_[i].next) rank[i] = r++;
        r = 0;
        for (uint32_t i = b.waiting.head; i != NIL; i = pool_[i].next) rank[i] = r++;
    }
    // The orders, account by account, each account's in its list's order.
    std::size_t written = 0;
    for (uint32_t a = 1; a <= n_accounts_; ++a) {
        for (uint32_t i = accounts_[a].head; i != NIL; i = pool_[i].acct_next) {
            const Order& o = pool_[i];
            const bool venue = o.venue();
            const VenueOrder v = venue ? venue_[i] : VenueOrder{};
            put<uint64_t>(out, o.id);
            put<uint64_t>(out, o.client);
            put<int64_t>(out, o.price);
            put<int64_t>(out, o.qty);
            put<int64_t>(out, o.cum);
            put<uint32_t>(out, o.account);
            put<uint16_t>(out, o.symbol);
            put<uint8_t>(out, o.side);
            put<uint8_t>(out, static_cast<uint8_t>(o.stp_post & ~VENUE_BIT));
            put<uint32_t>(out, rank[i]);
            put<uint8_t>(out, venue ? 1 : 0);
            put<uint8_t>(out, v.order_type);
            put<uint8_t>(out, v.tif);
            put<uint8_t>(out, v.trigger != 0 ? 1 : venue && o.price == 0 ? 2 : 0);
            put<int64_t>(out, v.trigger);
            put<int64_t>(out, v.display);
            put<int64_t>(out, v.hidden);
            put<int64_t>(out, v.expire_ts);
            put<uint64_t>(out, v.new_seq);
            ++written;
        }
    }
    if (written != resting_) throw std::logic_error("kernel dump: the account lists miss orders");

    for (const auto& [first, last] : ranges) {
        put<uint64_t>(out, first);
        put<uint64_t>(out, last - first + 1);
    }
    for (const auto& [key, id] : clients) {
        put<uint32_t>(out, key.first);
        put<uint64_t>(out, key.second);
        put<uint64_t>(out, id);
    }
    for (const auto& [account, keys] : live) {
        put<uint32_t>(out, account);
        put<uint8_t>(out, sessions_.armed(account) ? 1 : 0);
        put<uint32_t>(out, static_cast<uint32_t>(keys.size()));
        for (const auto& [worker, session] : keys) {
            put<uint64_t>(out, worker);
            put<uint64_t>(out, session);
        }
    }
    // The venue's state (version 2): the time, the expiry queue (sorted: a valid
    // heap, and the same bytes for the same entries), each book's last trade.
    put<int64_t>(out, now_);
    std::vector<Expiry> queue = expiries_;
    std::sort(queue.begin(), queue.end(), [](const Expiry& x, const Expiry& y) { return y > x; });
    put<uint64_t>(out, queue.size());
    for (const Expiry& x : queue) {
        put<int64_t>(out, x.ts);
        put<uint64_t>(out, x.new_seq);
        put<uint64_t>(out, x.id);
    }
    for (uint32_t sym = 1; sym <= n_symbols_; ++sym) put<int64_t>(out, books_[sym].last_price);
    // Version 3: the phases.
    for (uint32_t sym = 1; sym <= n_symbols_; ++sym) {
        const Book& b = books_[sym];
        put<uint8_t>(out, b.phase);
        put<int64_t>(out, b.reference);
        put<uint8_t>(out, b.shown ? 1 : 0);
        put<uint8_t>(out, b.shown ? b.shown_side : 0);
        put<int64_t>(out, b.shown ? b.shown_price : 0);
        put<int64_t>(out, b.shown ? b.shown_volume : 0);
        put<int64_t>(out, b.shown ? b.shown_imbalance : 0);
        put<uint8_t>(out, 0);
    }
    put<uint32_t>(out, crc32c(out.data(), out.size()));
    return out;
}

void Kernel::load(const char* data, std::size_t n) {
    // Only a kernel that has run nothing (a DEFINE has no seq: its names count too).
    if (last_seq_ != 0 || trade_id_ != 0 || n_symbols_ != 0 || n_accounts_ != 0 || resting_ != 0 ||
        used_.count() != 0 || client_ids_.size() != 0 || sessions_.accounts_live() != 0)
        throw std::invalid_argument("load: this kernel is not fresh (it has run records)");
    // A dump holds no stage state: loading it into a kernel with the stage on would
    // turn the stage off (or run it on nothing); load_books() then load_stage() do.
    if (risk_on_) throw std::invalid_argument("load: this kernel runs the pre-trade stage; RKC1 v1 has none");
    load_books(data, n);
}

void Kernel::load_books(const char* data, std::size_t n) {
    if (last_seq_ != 0 || trade_id_ != 0 || n_symbols_ != 0 || n_accounts_ != 0 || resting_ != 0 ||
        used_.count() != 0 || client_ids_.size() != 0 || sessions_.accounts_live() != 0)
        throw std::invalid_argument("load: this kernel is not fresh (it has run records)");
    if (n < 4 || std::memcmp(data, MAGIC, 4) != 0) bad("its magic is not RKC1");
    if (n < HEADER + 4) bad("truncated: shorter than a header and a checksum");
    uint32_t crc;
    std::memcpy(&crc, data + n - 4, 4);
    if (crc32c(data, n - 4) != crc) bad("checksum mismatch (garbled or cut short)");
    n -= 4;  // the checks below read the state only
    Reader in(data, n);
    in.get<uint32_t>("magic");
    const uint32_t version = in.get<uint32_t>("the version");
    if (version < 1 || version > VERSION)
        bad("layout version " + std::to_string(version) + ", this kernel reads 1 to " +
            std::to_string(VERSION));
    const std::size_t order_bytes = version == 1 ? ORDER_BYTES_V1 : ORDER_BYTES;
    // Built aside and moved in only when all of it checks out, so a bad dump
    // leaves this kernel fresh.
    Kernel k;
    k.last_seq_ = in.get<uint64_t>("last_seq");
    k.trade_id_ = in.get<uint64_t>("trade_id");
    const uint32_t symbols = in.get<uint32_t>("the symbol count");
    const uint32_t accounts = in.get<uint32_t>("the account count");
    const uint64_t resting = in.get<uint64_t>("the order count");
    const uint64_t n_ranges = in.get<uint64_t>("the used id range count");
    const uint64_t n_clients = in.get<uint64_t>("the client id count");
    const uint64_t n_live = in.get<uint64_t>("the session account count");
    if (symbols > MAX_SYMBOLS) bad(std::to_string(symbols) + " symbols, past the most");
    if (accounts > MAX_ACCOUNTS) bad(std::to_string(accounts) + " accounts, past the most");
    if (resting > in.left() / order_bytes) bad("the order count: more than the dump holds");
    const uint64_t need = resting * order_bytes;
    if (n_ranges > (in.left() - need) / RANGE_BYTES) bad("the range count: more than the dump holds");
    if (n_clients > (in.left() - need - n_ranges * RANGE_BYTES) / CLIENT_BYTES)
        bad("the client id count: more than the dump holds");
    k.books_.resize(std::size_t{symbols} + 1);
    k.accounts_.resize(std::size_t{accounts} + 1);
    k.n_symbols_ = symbols;
    k.n_accounts_ = accounts;

    // The used ids come after the orders in the blob but are needed to check
    // them: read them first from where they are.
    Reader ids(data + HEADER + need, n - HEADER - need);
    uint64_t used_total = 0;
    uint64_t prev_last = 0;
    for (uint64_t r = 0; r < n_ranges; ++r) {
        const uint64_t first = ids.get<uint64_t>("a used id range");
        const uint64_t count = ids.get<uint64_t>("a used id range");
        if (first == 0 || count == 0 || count - 1 > UINT64_MAX - first)
            bad("used id range " + std::to_string(r) + " is empty or out of bounds");
        // Apart from the one before: after it, with a gap (prev_last + 1 cannot
        // wrap: that range would have ended at UINT64_MAX, with nothing after it).
        if (r != 0 && (prev_last == UINT64_MAX || first <= prev_last + 1))
            bad("used id range " + std::to_string(r) + " is not after the one before it");
        // A NEW uses at most one id and has a seq of its own, above 0: this bound
        // also keeps a garbled count from making load add ids for ever.
        used_total += count;
        if (used_total > k.last_seq_) bad("more order ids used than inputs (last_seq)");
        const uint64_t last = first + (count - 1);
        for (uint64_t id = first;; ++id) {
            k.used_.add(id);
            if (id == last) break;
        }
        prev_last = last;
    }

    // Version 2: each order's queue and place in it, put in order once all are read.
    struct Place {
        uint32_t symbol;
        uint8_t queue;  // 0 bids, 1 asks, 2 held stops, 3 waiting market orders
        int64_t price;
        uint32_t rank;
        uint32_t i;
        bool operator<(const Place& p) const {
            if (symbol != p.symbol) return symbol < p.symbol;
            if (queue != p.queue) return queue < p.queue;
            if (price != p.price) return price < p.price;
            return rank < p.rank;
        }
    };
    std::vector<Place> places;
    for (uint64_t r = 0; r < resting; ++r) {
        Order o{};
        o.id = in.get<uint64_t>("an order");
        o.client = in.get<uint64_t>("an order");
        o.price = in.get<int64_t>("an order");
        o.qty = in.get<int64_t>("an order");
        o.cum = in.get<int64_t>("an order");
        o.account = in.get<uint32_t>("an order");
        o.symbol = in.get<uint16_t>("an order");
        o.side = in.get<uint8_t>("an order");
        o.stp_post = in.get<uint8_t>("an order");
        uint32_t rank = 0;
        VenueOrder v{};
        bool venue = false, held = false, waiting = false;
        if (version != 1) {
            rank = in.get<uint32_t>("an order");
            venue = in.get<uint8_t>("an order") != 0;
            v.order_type = in.get<uint8_t>("an order");
            v.tif = in.get<uint8_t>("an order");
            const uint8_t off_book = in.get<uint8_t>("an order");
            if (off_book > (version == 2 ? 1 : 2)) bad("order " + std::to_string(r) + ": a queue code past the last");
            held = off_book == 1;
            waiting = off_book == 2;
            v.trigger = in.get<int64_t>("an order");
            v.display = in.get<int64_t>("an order");
            v.hidden = in.get<int64_t>("an order");
            v.expire_ts = in.get<int64_t>("an order");
            v.new_seq = in.get<uint64_t>("an order");
        }
        // The message is made only on a refusal: a string per order would be
        // a third of the load's time.
        auto which = [&] { return "order " + std::to_string(r) + " (id " + std::to_string(o.id) + ")"; };
        if (o.id == 0 || !k.used_.contains(o.id)) bad(which() + ": its id is not a used one");
        if (k.resting_index(o.id) != NIL) bad(which() + ": its id rests twice");
        if (o.account == 0 || o.account > accounts) bad(which() + ": an account not defined");
        if (o.symbol == 0 || o.symbol > symbols) bad(which() + ": a symbol not defined");
        if (o.side != SIDE_BUY && o.side != SIDE_SELL) bad(which() + ": a side neither buy nor sell");
        if ((o.stp_post & VENUE_BIT) != 0) bad(which() + ": a flag bit not known");
        // A held STOP and a waiting MARKET have no price (0); every other order has one.
        if (waiting && (!venue || v.order_type != TYPE_MARKET || o.price != 0 || v.trigger != 0 ||
                        v.display != 0 || v.hidden != 0 || v.tif > TIF_IOC))
            bad(which() + ": a waiting order that is not a market order");
        if (o.price <= 0 && !(held && v.order_type == TYPE_STOP && o.price == 0) && !waiting)
            bad(which() + ": a price not above 0");
        if (o.qty <= 0) bad(which() + ": a quantity not above 0");
        if (o.stp() > STP_DECREMENT) bad(which() + ": an STP code past the last");
        if (!venue && (held || v.order_type != 0 || v.tif != 0 || v.trigger != 0 || v.display != 0 ||
                       v.hidden != 0 || v.expire_ts != 0 || v.new_seq != 0))
            bad(which() + ": venue fields on an order without them");
        if (venue) {
            if (v.order_type < TYPE_LIMIT || v.order_type > TYPE_STOP_LIMIT || v.tif > TIF_GTD)
                bad(which() + ": an order type or tif code past the last");
            // A released stop rests as a LIMIT (a STOP_LIMIT's): only a held one has a trigger.
            if (held != (v.trigger > 0) ||
                (held && v.order_type != TYPE_STOP && v.order_type != TYPE_STOP_LIMIT))
                bad(which() + ": a held stop without a trigger, or a trigger without one");
            if (v.display < 0 || v.hidden < 0 || (v.display == 0 && v.hidden != 0) ||
                (v.display != 0 && (held || o.qty > v.display)))
                bad(which() + ": an iceberg's display or hidden quantity out of bounds");
            if ((v.tif == TIF_GTD) != (v.expire_ts > 0)) bad(which() + ": a GTD order without an expiry");
            if (v.new_seq == 0 || v.new_seq > k.last_seq_) bad(which() + ": its NEW's seq is not one");
            o.stp_post |= VENUE_BIT;
        }
        const uint32_t i = venue ? k.alloc_venue() : k.pool_.alloc();
        k.pool_[i] = o;
        if (venue) k.venue_[i] = v;
        k.index_.insert(o.id, i);
        k.account_append(i);
        ++k.resting_;
        if (version == 1) {  // entry order: each at the back of its level, as it came
            Book& b = k.books_[o.symbol];
            if (o.side == SIDE_BUY) b.bids.push_back(k.pool_, i);
            else b.asks.push_back(k.pool_, i);
        } else {
            const uint8_t queue = held ? 2 : waiting ? 3 : o.side == SIDE_BUY ? 0 : 1;
            places.push_back(Place{o.symbol, queue, held || waiting ? 0 : o.price, rank, i});
        }
    }
    // Each queue in its order: ranks 0, 1, 2 ... within it.
    std::sort(places.begin(), places.end());
    for (std::size_t p = 0; p < places.size(); ++p) {
        const Place& at = places[p];
        const bool first = p == 0 || places[p - 1].symbol != at.symbol ||
                           places[p - 1].queue != at.queue || places[p - 1].price != at.price;
        if (at.rank != (first ? 0 : places[p - 1].rank + 1))
            bad("order id " + std::to_string(k.pool_[at.i].id) + ": its place in its queue is not the next");
        Book& b = k.books_[at.symbol];
        if (at.queue == 2) {
            k.stop_append(b, at.i);
        } else if (at.queue == 3) {
            b.waiting.push_back(k.pool_, at.i);
        } else {
            if (at.queue == 0) b.bids.push_back(k.pool_, at.i);
            else b.asks.push_back(k.pool_, at.i);
            if (k.pool_[at.i].venue() && k.venue_[at.i].display != 0) {
                ++b.icebergs;
                b.slices += k.slices_of(at.i);
            }
        }
    }
    // Past the ranges already read.
    for (uint64_t r = 0; r < n_ranges; ++r) {
        in.get<uint64_t>("a used id range");
        in.get<uint64_t>("a used id range");
    }
    std::pair<uint32_t, uint64_t> prev_key{0, 0};
    for (uint64_t r = 0; r < n_clients; ++r) {
        const uint32_t account = in.get<uint32_t>("a client id");
        const uint64_t client = in.get<uint64_t>("a client id");
        const uint64_t id = in.get<uint64_t>("a client id");
        auto which = [r] { return "client id " + std::to_string(r); };
        if (account == 0 || account > accounts) bad(which() + ": an account not defined");
        if (client == 0) bad(which() + ": client order id 0");
        const std::pair<uint32_t, uint64_t> key{account, client};
        if (r != 0 && !(prev_key < key)) bad(which() + ": not after the one before it");
        prev_key = key;
        // A client id is registered only for an id its NEW then used (or found used).
        if (id == 0 || !k.used_.contains(id)) bad(which() + ": an order id not used");
        k.client_ids_.add(account, client, id);
    }

    if (n_live > in.left() / 9) bad("the session account count: more than the dump holds");
    uint32_t prev_account = 0;
    for (uint64_t r = 0; r < n_live; ++r) {
        const uint32_t account = in.get<uint32_t>("a live account");
        const uint8_t armed = in.get<uint8_t>("a live account");
        const uint32_t count = in.get<uint32_t>("a live account");
        auto which = [r] { return "live account " + std::to_string(r); };
        if (account == 0 || account > accounts) bad(which() + ": an account not defined");
        if (account <= prev_account) bad(which() + ": not after the one before it");
        prev_account = account;
        if (armed > 1) bad(which() + ": armed neither 0 nor 1");
        if (count == 0) bad(which() + ": no session");
        if (count > in.left() / 16) bad(which() + ": more sessions than the dump holds");
        std::pair<uint64_t, uint64_t> prev{0, 0};
        for (uint32_t j = 0; j < count; ++j) {
            const uint64_t worker = in.get<uint64_t>("a session");
            const uint64_t session = in.get<uint64_t>("a session");
            if (j != 0 && !(prev < std::pair<uint64_t, uint64_t>{worker, session}))
                bad(which() + ": its sessions are not ascending");
            prev = {worker, session};
            // Armed is the account's, not a session's: set with its first.
            k.sessions_.open(account, worker, session, armed == 1 && j == 0);
        }
    }
    if (version != 1) {
        k.now_ = in.get<int64_t>("the time");
        if (k.now_ < 0) bad("the time is before 0");
        const uint64_t n_expiries = in.count("the expiry count", EXPIRY_BYTES);
        for (uint64_t r = 0; r < n_expiries; ++r) {
            Expiry x{};
            x.ts = in.get<int64_t>("an expiry");
            x.new_seq = in.get<uint64_t>("an expiry");
            x.id = in.get<uint64_t>("an expiry");
            // Each due after the time (the ones at or before it have expired), in order.
            if (x.ts <= k.now_ || x.new_seq == 0 || x.new_seq > k.last_seq_ || !k.used_.contains(x.id))
                bad("expiry " + std::to_string(r) + ": not a pending GTD order's");
            if (r != 0 && !(x > k.expiries_.back())) bad("expiry " + std::to_string(r) + ": not after the one before it");
            k.expiries_.push_back(x);
        }
        for (uint32_t sym = 1; sym <= symbols; ++sym) {
            k.books_[sym].last_price = in.get<int64_t>("a book's last trade price");
            if (k.books_[sym].last_price < 0) bad("symbol " + std::to_string(sym) + "'s last trade price is below 0");
        }
    }
    if (version >= 3) {
        for (uint32_t sym = 1; sym <= symbols; ++sym) {
            Book& b = k.books_[sym];
            const std::string which = "symbol " + std::to_string(sym);
            b.phase = in.get<uint8_t>("a book's phase");
            b.reference = in.get<int64_t>("a book's phase");
            const uint8_t shown = in.get<uint8_t>("a book's phase");
            b.shown_side = in.get<uint8_t>("a book's phase");
            b.shown_price = in.get<int64_t>("a book's phase");
            b.shown_volume = in.get<int64_t>("a book's phase");
            b.shown_imbalance = in.get<int64_t>("a book's phase");
            const uint8_t spare = in.get<uint8_t>("a book's phase");
            if (b.phase < PHASE_PRE_OPEN || b.phase > PHASE_HALTED) bad(which + ": a phase code not known");
            if (b.reference < 0) bad(which + ": a reference price below 0");
            if (shown > 1 || spare != 0 || (shown == 1 && !b.call()) || b.shown_side > SIDE_SELL ||
                b.shown_price < 0 || b.shown_volume < 0 || b.shown_imbalance < 0 ||
                (shown == 0 && (b.shown_side != 0 || b.shown_price != 0 || b.shown_volume != 0 ||
                                b.shown_imbalance != 0)))
                bad(which + ": its indicative is not one");
            b.shown = shown == 1;
            if (b.phase != PHASE_CONTINUOUS) ++k.not_continuous_;
        }
    }
    for (uint32_t s = 1; s <= symbols; ++s) {
        const Book& b = k.books_[s];
        // A CONTINUOUS book never crosses: a crossing order matches before it rests.
        if (b.phase == PHASE_CONTINUOUS && !b.bids.empty() && !b.asks.empty() &&
            b.bids.best() >= b.asks.best())
            bad("symbol " + std::to_string(s) + "'s book is crossed");
        // Market orders wait only in a call phase.
        if (b.waiting.count != 0 && !b.call()) bad("symbol " + std::to_string(s) + " has waiting orders outside a call phase");
    }
    if (in.left() != 0) bad(std::to_string(in.left()) + " bytes past its end");
    k.risk_on_ = risk_on_;  // the stage is not in the dump: this kernel's stays
    k.risk_ = std::move(risk_);
    *this = std::move(k);
}

}  // namespace rm
