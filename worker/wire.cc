#include "worker/wire.h"

namespace tierscore::worker {

engine::ByteRange FromWire(const v1::ByteRange& range) {
  return engine::ByteRange{range.begin(), range.end()};
}

void ToWire(const engine::ByteRange& range, v1::ByteRange* out) {
  out->set_begin(range.begin);
  out->set_end(range.end);
}

engine::RangeScan FromWire(const v1::RangeScan& scan) {
  return engine::RangeScan{scan.quotes(), scan.start_even(), scan.start_odd()};
}

void ToWire(const engine::RangeScan& scan, v1::RangeScan* out) {
  out->set_quotes(scan.quotes);
  out->set_start_even(scan.start_even);
  out->set_start_odd(scan.start_odd);
}

engine::Split FromWire(const v1::Split& split) {
  return engine::Split{split.index(), split.path(), split.begin(), split.end(), split.gzip()};
}

void ToWire(const engine::Split& split, v1::Split* out) {
  out->set_index(split.index);
  out->set_path(split.path);
  out->set_begin(split.begin);
  out->set_end(split.end);
  out->set_gzip(split.gzip);
}

engine::CutKey FromWire(const v1::CutKey& cut) {
  return engine::CutKey{cut.score(), cut.id(), cut.all(), cut.none()};
}

std::vector<std::vector<engine::CutKey>> FromWire(
    const google::protobuf::RepeatedPtrField<v1::SchemeCuts>& schemes) {
  std::vector<std::vector<engine::CutKey>> out;
  for (const v1::SchemeCuts& s : schemes) {
    std::vector<engine::CutKey>& cuts = out.emplace_back();
    for (const v1::CutKey& c : s.cuts()) cuts.push_back(FromWire(c));
  }
  return out;
}

engine::CriterionStatsAcc FromWire(const v1::CriterionStats& s) {
  engine::CriterionStatsAcc a;
  a.count = s.count();
  a.min = s.min();
  a.max = s.max();
  a.sum = engine::ExactSum::FromProto(s.sum());
  a.sum_sq = engine::ExactSum::FromProto(s.sum_sq());
  a.sketch = engine::QuantileSketch::FromProto(s.sketch());
  return a;
}

void ToWire(const engine::CriterionStatsAcc& stats, v1::CriterionStats* out) {
  out->set_count(stats.count);
  out->set_min(stats.min);
  out->set_max(stats.max);
  stats.sum.ToProto(out->mutable_sum());
  stats.sum_sq.ToProto(out->mutable_sum_sq());
  if (stats.sketch.count() > 0) stats.sketch.ToProto(out->mutable_sketch());
}

engine::CriterionParams FromWire(const v1::CriterionParams& params) {
  engine::CriterionParams p;
  p.offset = params.offset();
  p.divisor = params.divisor();
  p.cdf = engine::QuantileSketch::FromProto(params.cdf());
  return p;
}

void ToWire(const engine::CriterionParams& params, v1::CriterionParams* out) {
  out->set_offset(params.offset);
  out->set_divisor(params.divisor);
  if (params.cdf.count() > 0) params.cdf.ToProto(out->mutable_cdf());
}

engine::Positions FromWire(const v1::Positions& positions) {
  engine::Positions out;
  out.lo = positions.lo();
  out.hi = positions.hi();
  out.count_before.assign(positions.count_before().begin(), positions.count_before().end());
  out.value_before.assign(positions.value_before().begin(), positions.value_before().end());
  return out;
}

void ToWire(const engine::Positions& positions, v1::Positions* out) {
  out->set_lo(positions.lo);
  out->set_hi(positions.hi);
  out->mutable_count_before()->Assign(positions.count_before.begin(), positions.count_before.end());
  out->mutable_value_before()->Assign(positions.value_before.begin(), positions.value_before.end());
}

}  // namespace tierscore::worker
