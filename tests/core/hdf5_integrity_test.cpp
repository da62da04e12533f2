// H5File's checksums: what every file, tensor and stream carries, damage to data and to
// metadata named on read and by verify(), stream blocks checked only where a range reads,
// and files without checksums (older linea) read unverified with one warning.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstring>

#include "core/io/hdf5_file.h"
#include "core/io/xxh64.h"
#include "support/file_damage.h"
#include "support/temp_dir.h"

using namespace linea;
using namespace linea::testing;

namespace {

template <class ExcType, class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const ExcType& e) {
    return e.what();
  }
  return "(no error)";
}

// 0, 1, 2, ...: a tensor whose bytes are easy to find in the file.
Tensor counting(int64_t n, DType dtype = DType::f32) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = double(i);
  return Tensor::from_vector(v, {n}, dtype);
}

// A stream of 40 uint16 tokens 1000..1039 in blocks of 8, and two tensors.
void write_sample(const std::string& path, H5Errors errors = H5Errors::checkpoint) {
  H5File f = H5File::create(path, errors);
  f.write_tensor("/model/w", counting(64));
  f.write_tensor("/model/v", counting(16, DType::i64));
  f.set_string_attr("/model/w", "note", "an attribute to damage");
  f.create_stream("/tokens", StreamElement::u16, 8);
  std::vector<double> tokens;
  for (int i = 0; i < 40; ++i) tokens.push_back(1000 + i);
  f.append("/tokens", Tensor::from_vector(std::vector<double>(tokens.begin(), tokens.begin() + 13), {13}, DType::i64));
  f.append("/tokens", Tensor::from_vector(std::vector<double>(tokens.begin() + 13, tokens.end()), {27}, DType::i64));
  f.close();
}

// Where uint16 token `value` of the sample's stream is stored (found with its neighbours,
// which makes the bytes unique in the file).
size_t token_offset(const std::string& path, uint16_t value) {
  const uint16_t run[3] = {uint16_t(value - 1), value, uint16_t(value + 1)};
  return offset_of(path, run, sizeof run) + sizeof(uint16_t);
}

}  // namespace

TEST(H5Integrity, EveryTensorAndStreamBlockCarriesItsXxh64) {
  TempDir dir;
  const std::string path = dir.file("t.h5");
  write_sample(path);
  H5File f = H5File::open_read(path);
  EXPECT_TRUE(f.checksummed());
  EXPECT_EQ(f.string_attr("/", "checksum"), "xxh64");
  const Tensor w = counting(64);
  EXPECT_EQ(f.string_attr("/model/w", "xxh64"), xxh64_hex(xxh64(w.data_ptr(), w.nbytes())));
  // The stream: one digest per block of 8 elements, of the uint16 bytes as stored.
  EXPECT_EQ(f.int_attr("/tokens", "xxh64_block"), 8);
  const Tensor digests = f.read_tensor("/tokens_xxh64");
  ASSERT_EQ(digests.numel(), 5);
  for (int64_t b = 0; b < 5; ++b) {
    uint16_t block[8];
    for (int i = 0; i < 8; ++i) block[i] = uint16_t(1000 + b * 8 + i);
    EXPECT_EQ(uint64_t(digests.data<int64_t>()[b]), xxh64(block, sizeof block)) << "block " << b;
  }
  EXPECT_EQ(f.read_range("/tokens", 5, 20).to_vector(), f.read_tensor("/tokens").narrow(0, 5, 20).to_vector());
  const H5File::VerifyReport r = f.verify();
  EXPECT_TRUE(r.checksummed);
  EXPECT_TRUE(r.damaged.empty());
  EXPECT_EQ(r.datasets, 4);  // w, v, tokens, tokens_xxh64
}

TEST(H5Integrity, DamagedTensorDataIsNamedWhenRead) {
  TempDir dir;
  const std::string path = dir.file("t.h5");
  write_sample(path);
  const Tensor w = counting(64);
  flip_bytes(path, offset_of(path, w.data_ptr(), w.nbytes()) + 100);
  H5File f = H5File::open_read(path);
  EXPECT_EQ(f.read_tensor("/model/v").to_vector(), counting(16, DType::i64).to_vector());  // intact
  const std::string e = error_of<CheckpointError>([&] { f.read_tensor("/model/w"); });
  EXPECT_NE(e.find(path + ": /model/w: damaged data: its xxh64 is "), std::string::npos) << e;
  EXPECT_NE(e.find(", expected " + xxh64_hex(xxh64(w.data_ptr(), w.nbytes())) + " as written"), std::string::npos) << e;
  const H5File::VerifyReport r = f.verify();
  ASSERT_EQ(r.damaged.size(), 1u);
  EXPECT_NE(r.damaged[0].find("/model/w: damaged data"), std::string::npos) << r.damaged[0];
  EXPECT_EQ(r.datasets, 3);
}

TEST(H5Integrity, DamagedStreamBlockFailsTheRangesThatTouchIt) {
  TempDir dir;
  const std::string path = dir.file("t.h5");
  write_sample(path, H5Errors::data);
  flip_bytes(path, token_offset(path, 1019));  // block 2: elements [16, 24)
  H5File f = H5File::open_read(path, H5Errors::data);
  EXPECT_EQ(f.read_range("/tokens", 0, 16).to_vector()[15], 1015);
  EXPECT_EQ(f.read_range("/tokens", 24, 16).to_vector()[0], 1024);
  const std::string e = error_of<DataError>([&] { f.read_range("/tokens", 10, 7); });
  EXPECT_NE(e.find(path + ": /tokens: damaged data: elements [16, 24) have xxh64 "), std::string::npos) << e;
  EXPECT_NE(error_of<DataError>([&] { f.read_tensor("/tokens"); }).find("elements [16, 24)"), std::string::npos);
  const H5File::VerifyReport r = f.verify();
  ASSERT_EQ(r.damaged.size(), 1u);
  EXPECT_NE(r.damaged[0].find("/tokens: damaged data"), std::string::npos) << r.damaged[0];
  // A damaged block digest reads as a damaged block, and the digests dataset as damaged.
  const std::string other = dir.file("u.h5");
  write_sample(other, H5Errors::data);
  const int64_t digest3 = H5File::open_read(other, H5Errors::data).read_tensor("/tokens_xxh64").data<int64_t>()[3];
  flip_bytes(other, offset_of(other, &digest3, sizeof digest3));
  H5File g = H5File::open_read(other, H5Errors::data);
  EXPECT_NE(error_of<DataError>([&] { g.read_range("/tokens", 30, 1); }).find("elements [24, 32)"), std::string::npos);
  EXPECT_EQ(g.verify().damaged.size(), 2u);  // /tokens and /tokens_xxh64
}

TEST(H5Integrity, DamagedMetadataIsNamedByObject) {
  TempDir dir;
  const std::string path = dir.file("t.h5");
  write_sample(path);
  flip_bytes(path, offset_of(path, "an attribute to damage") + 3);
  H5File f = H5File::open_read(path);
  const std::string e = error_of<CheckpointError>([&] { f.read_tensor("/model/w"); });
  EXPECT_NE(e.find(path + ": /model/w: damaged HDF5 metadata ("), std::string::npos) << e;
  EXPECT_NE(e.find("checksum"), std::string::npos) << e;
  const H5File::VerifyReport r = f.verify();
  ASSERT_EQ(r.damaged.size(), 1u);
  EXPECT_NE(r.damaged[0].find("/model/w: damaged HDF5 metadata"), std::string::npos) << r.damaged[0];
  // The root group's header holds the root attributes: damage there fails on open.
  const std::string root = dir.file("root.h5");
  H5File::create(root).set_string_attr("/", "config_yaml", "model: {hidden: 32}");
  flip_bytes(root, offset_of(root, "hidden"));
  EXPECT_NE(error_of<CheckpointError>([&] { H5File::open_read(root); }).find(root + ": /: damaged HDF5 metadata"),
            std::string::npos);
  ASSERT_EQ(H5File::verify_file(root).damaged.size(), 1u);
}

TEST(H5Integrity, StreamsAreReadOnlyOnceFinished) {
  TempDir dir;
  H5File f = H5File::create(dir.file("t.h5"), H5Errors::data);
  f.create_stream("/tokens", StreamElement::u32, 4);
  f.append("/tokens", counting(6, DType::i64));
  EXPECT_THROW(f.read_range("/tokens", 0, 2), InternalError);
}

// Files written by an older linea: HDF5's default format without metadata checksums and no
// checksum attributes. They read as before, and the first unverified read says so once.
TEST(H5Integrity, FilesWithoutChecksumsAreReadUnverifiedSayingSoOnce) {
  TempDir dir;
  const std::string path = dir.file("old.h5");
  {
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[1] = {4};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t dset = H5Dcreate2(file, "/w", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const float values[4] = {1, 2, 3, 4};
    H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    H5Dclose(dset);
    H5Sclose(space);
    H5Fclose(file);
  }
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 2; ++i) {
    H5File f = H5File::open_read(path);
    EXPECT_FALSE(f.checksummed());
    EXPECT_EQ(f.read_tensor("/w").to_vector(), (std::vector<double>{1, 2, 3, 4}));
    EXPECT_EQ(f.read_range("/w", 1, 2).to_vector(), (std::vector<double>{2, 3}));
  }
  const std::string said = ::testing::internal::GetCapturedStderr();
  // No other test of this suite reads a file without checksums, so this is the first time.
  EXPECT_EQ(said, "linea: warning: " + path + " has no checksums (an older linea wrote it), so it is read "
                  "unverified (said once for all checkpoints)\n");
  const H5File::VerifyReport r = H5File::verify_file(path);
  EXPECT_FALSE(r.checksummed);
  EXPECT_TRUE(r.damaged.empty());
  EXPECT_EQ(r.datasets, 1);
}
