// spm.cc - the C interface of include/s2s/spm.h over the SentencePiece C++ library: the one C++
// file of s2s. Every entry point catches whatever the library throws (std::bad_alloc, mostly)
// and turns util::Status failures into s2s status codes with the library's message, so that
// nothing of C++ reaches the C callers.
#include "s2s/spm.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

// status.h is a C header without C++ guards (only this file needs them).
extern "C" {
#include "s2s/status.h"
}

extern "C" {
const char *const spm_type_names[] = {SPM_TYPE_CHOICES(CHOICE_NAME) NULL};
}

struct spm_model {
    sentencepiece::SentencePieceProcessor proc;
};

namespace {

const char SP_MARK[] = "\xE2\x96\x81"; // U+2581, SentencePiece's word-boundary marker

// The sentences of spm_train's callback as SentencePiece's iterator. A failure of the callback
// ends the iteration; its status and message are kept for the caller (the message buffer of
// s2s_fail is per thread, and training runs on a thread of its own).
class CallbackIterator : public sentencepiece::SentenceIterator {
  public:
    CallbackIterator(spm_sentence_fn next, void *ctx) : next_(next), ctx_(ctx) { Next(); }
    bool done() const override { return done_; }
    void Next() override
    {
        const char *text = nullptr;
        size_t len = 0;
        int rc = next_(ctx_, &text, &len);
        if (rc > 0) {
            value_.assign(text, len);
            return;
        }
        done_ = true;
        if (rc < 0) {
            rc_ = rc;
            message_ = s2s_errmsg(rc);
        }
    }
    const std::string &value() const override { return value_; }
    sentencepiece::util::Status status() const override
    {
        if (rc_ == 0)
            return sentencepiece::util::Status();
        return sentencepiece::util::Status(sentencepiece::util::StatusCode::kAborted, message_);
    }
    int rc() const { return rc_; }
    const std::string &message() const { return message_; }

  private:
    spm_sentence_fn next_;
    void *ctx_;
    std::string value_, message_;
    bool done_ = false;
    int rc_ = 0;
};

// What one training produced, handed from its thread to the caller's.
struct TrainOutcome {
    int rc = 0;
    std::string message; // for rc < 0
    std::string model;
};

void train_on_this_thread(const std::unordered_map<std::string, std::string> &args,
                          spm_sentence_fn next, void *ctx, TrainOutcome *out)
{
    try {
        CallbackIterator it(next, ctx);
        sentencepiece::util::Status st =
            sentencepiece::SentencePieceTrainer::Train(args, &it, &out->model);
        if (it.rc() < 0) {
            out->rc = it.rc();
            out->message = it.message();
        } else if (!st.ok()) {
            out->rc = S2S_EINVAL;
            out->message = st.ToString();
        }
    } catch (const std::bad_alloc &) {
        out->rc = S2S_ENOMEM;
        out->message = "out of memory";
    } catch (const std::exception &e) {
        out->rc = S2S_EINVAL;
        out->message = e.what();
    }
}

// The next varint of a protocol buffer at p[*i..n), or false.
bool read_varint(const unsigned char *p, size_t n, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *i < n; shift += 7) {
        unsigned char c = p[(*i)++];
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return true;
    }
    return false;
}

// Calls fn(field, wire type, varint value or length, payload) for each field of the message
// p[0..n); false if the bytes are not a well-formed message.
template <typename Fn> bool walk_message(const unsigned char *p, size_t n, Fn fn)
{
    for (size_t i = 0; i < n;) {
        uint64_t key, v = 0;
        if (!read_varint(p, n, &i, &key))
            return false;
        const unsigned char *payload = p + i;
        switch (key & 7) {
        case 0:
            if (!read_varint(p, n, &i, &v))
                return false;
            break;
        case 1:
            if (n - i < 8)
                return false;
            i += 8;
            break;
        case 2:
            if (!read_varint(p, n, &i, &v) || v > n - i)
                return false;
            payload = p + i;
            i += v;
            break;
        case 5:
            if (n - i < 4)
                return false;
            i += 4;
            break;
        default:
            return false;
        }
        fn(key >> 3, (int)(key & 7), v, payload);
    }
    return true;
}

} // namespace

extern "C" int spm_train(const spm_train_options *o, spm_sentence_fn next, void *ctx,
                         const char *what, unsigned char **model, size_t *size)
{
    *model = nullptr;
    *size = 0;
    if ((unsigned)o->type >= SPM_TYPE_COUNT || o->vocab_size < 8 || !(o->coverage > 0) ||
        o->coverage > 1 || o->threads < 1 || o->sentences < 0)
        return s2s_fail(S2S_EINVAL, "%s: SentencePiece training needs a type, at least 8 pieces, "
                        "a character coverage in (0, 1], a sample size >= 0 and >= 1 thread",
                        what);
    TrainOutcome out;
    try {
        char coverage[32];
        snprintf(coverage, sizeof coverage, "%.17g", o->coverage);
        // hard_vocab_limit false: vocab_size is an upper bound, so that a small corpus gives
        // a smaller model instead of an error. Logging above INFO only: prep prints its own
        // report. The special pieces keep SentencePiece's defaults: s2s maps pieces through its
        // own vocabulary by their text (include/s2s/vocab.h), never by these ids.
        std::unordered_map<std::string, std::string> args = {
            {"model_type", spm_type_names[o->type]},
            {"vocab_size", std::to_string(o->vocab_size)},
            {"character_coverage", coverage},
            {"input_sentence_size", std::to_string(o->sentences)},
            {"shuffle_input_sentence", "true"},
            {"num_threads", std::to_string(o->threads)},
            {"hard_vocab_limit", "false"},
            {"minloglevel", "1"},
        };
        // SentencePiece draws from a generator per thread, seeded once from this value when
        // the thread first draws; UINT_MAX means "from std::random_device", so it is avoided.
        sentencepiece::SetRandomGeneratorSeed(o->seed == UINT_MAX ? UINT_MAX - 1 : o->seed);
        // A new thread per training: its generator starts from the seed whatever trainings
        // ran before in this process (the trainer's own worker threads are new each time too).
        std::thread worker(train_on_this_thread, std::cref(args), next, ctx, &out);
        worker.join();
    } catch (const std::bad_alloc &) {
        out.rc = S2S_ENOMEM;
        out.message = "out of memory";
    } catch (const std::exception &e) {
        out.rc = S2S_EINVAL;
        out.message = e.what();
    }
    if (out.rc < 0)
        return s2s_fail(out.rc, "%s: SentencePiece training failed: %s", what, out.message.c_str());
    if (out.model.empty())
        return s2s_fail(S2S_EINVAL, "%s: SentencePiece training produced no model", what);
    *model = static_cast<unsigned char *>(malloc(out.model.size()));
    if (!*model)
        return s2s_fail(S2S_ENOMEM, "%s: a model of %zu bytes", what, out.model.size());
    memcpy(*model, out.model.data(), out.model.size());
    *size = out.model.size();
    return 0;
}

extern "C" int spm_load(spm_model **m, const void *bytes, size_t n, const char *what)
{
    *m = nullptr;
    spm_model *p = nullptr;
    try {
        p = new spm_model;
        sentencepiece::util::Status st = p->proc.LoadFromSerializedProto(
            std::string(static_cast<const char *>(bytes), n));
        if (!st.ok()) {
            delete p;
            return s2s_fail(S2S_EFORMAT, "%s: not a SentencePiece model (%zu bytes: %s)", what, n,
                            st.ToString().c_str());
        }
    } catch (const std::bad_alloc &) {
        delete p;
        return s2s_fail(S2S_ENOMEM, "%s: out of memory loading a SentencePiece model", what);
    } catch (const std::exception &e) {
        delete p;
        return s2s_fail(S2S_EFORMAT, "%s: not a SentencePiece model (%s)", what, e.what());
    }
    *m = p;
    return 0;
}

extern "C" void spm_free(spm_model *m)
{
    delete m;
}

extern "C" int spm_encode(const spm_model *m, const char *text, size_t len, char **buf,
                          size_t *cap, int *n)
{
    *n = 0;
    try {
        std::vector<std::string> pieces;
        sentencepiece::util::Status st =
            m->proc.Encode(std::string_view(text, len), &pieces);
        if (!st.ok())
            return s2s_fail(S2S_EINVAL, "SentencePiece cannot encode a line of %zu bytes: %s",
                            len, st.ToString().c_str());
        if (pieces.size() > INT_MAX)
            return s2s_fail(S2S_ERANGE, "a line of %zu pieces", pieces.size());
        size_t need = 1;
        for (const std::string &p : pieces)
            need += p.size() + 1;
        if (*cap < need) {
            char *b = static_cast<char *>(realloc(*buf, need));
            if (!b)
                return s2s_fail(S2S_ENOMEM, "the pieces of a line of %zu bytes", len);
            *buf = b;
            *cap = need;
        }
        char *out = *buf;
        for (const std::string &p : pieces) {
            memcpy(out, p.data(), p.size());
            out += p.size();
            *out++ = '\0';
        }
        *out = '\0';
        *n = (int)pieces.size();
    } catch (const std::bad_alloc &) {
        return s2s_fail(S2S_ENOMEM, "the pieces of a line of %zu bytes", len);
    }
    return 0;
}

extern "C" long spm_decode(const spm_model *m, const char *const *pieces, int n, char **buf,
                           size_t *cap)
{
    try {
        std::vector<std::string> v;
        v.reserve((size_t)n);
        const int unk = m->proc.unk_id();
        for (int i = 0; i < n; i++) {
            v.emplace_back(pieces[i]);
            // SentencePiece writes a piece it does not know (a character outside its coverage
            // that s2s's vocabulary kept) as it is, markers and all: they become spaces here.
            if (m->proc.PieceToId(v.back()) == unk && v.back() != m->proc.IdToPiece(unk))
                for (size_t at; (at = v.back().find(SP_MARK)) != std::string::npos;)
                    v.back().replace(at, sizeof SP_MARK - 1, " ");
        }
        std::string text;
        sentencepiece::util::Status st = m->proc.Decode(v, &text);
        if (!st.ok())
            return s2s_fail(S2S_EINVAL, "SentencePiece cannot decode %d pieces: %s", n,
                            st.ToString().c_str());
        if (*cap < text.size() + 1) {
            char *b = static_cast<char *>(realloc(*buf, text.size() + 1));
            if (!b)
                return s2s_fail(S2S_ENOMEM, "detokenize: cannot hold %zu bytes", text.size() + 1);
            *buf = b;
            *cap = text.size() + 1;
        }
        memcpy(*buf, text.data(), text.size());
        (*buf)[text.size()] = '\0';
        return (long)text.size();
    } catch (const std::bad_alloc &) {
        return s2s_fail(S2S_ENOMEM, "detokenize: %d pieces", n);
    }
}

extern "C" int spm_describe(const void *bytes, size_t n, const char *what, spm_info *info)
{
    static const char *const types[] = {"unigram", "bpe", "word", "char"};
    spm_model *m = nullptr;
    int rc = spm_load(&m, bytes, n, what);
    if (rc < 0)
        return rc;
    info->pieces = m->proc.GetPieceSize();
    spm_free(m);
    // The trainer spec (field 2 of ModelProto): model_type (3, an enum from UNIGRAM = 1) and
    // character_coverage (10, a float), with the proto's defaults when they are not stored. The
    // library exposes the proto only as an incomplete type, hence this walk over its encoding,
    // which the successful load above has already checked.
    int type = 1;
    float coverage = 0.9995f;
    const unsigned char *p = static_cast<const unsigned char *>(bytes);
    walk_message(p, n, [&](uint64_t field, int wire, uint64_t v, const unsigned char *payload) {
        if (field != 2 || wire != 2)
            return;
        walk_message(payload, v, [&](uint64_t f, int w, uint64_t x, const unsigned char *q) {
            if (f == 3 && w == 0)
                type = (int)x;
            else if (f == 10 && w == 5)
                memcpy(&coverage, q, sizeof coverage);
        });
    });
    info->type = type >= 1 && type <= 4 ? types[type - 1] : "unknown";
    info->coverage = coverage;
    return 0;
}
