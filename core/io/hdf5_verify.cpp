// H5File::verify: every object of the file visited, its attributes loaded and its data read
// (streams piece by piece), so that every checksum in the file is checked once.
#include <algorithm>

#include "core/io/hdf5_detail.h"
#include "core/io/hdf5_file.h"

namespace linea {

using namespace h5detail;

namespace {
constexpr int64_t kVerifyPieceElements = int64_t(1) << 22;  // bounds the memory of verifying a stream
}  // namespace

H5File::VerifyReport H5File::verify() const {
  VerifyReport report;
  report.checksummed = checksummed_;
  verify_group("/", report);
  return report;
}

H5File::VerifyReport H5File::verify_file(const std::string& path, H5Errors errors) {
  try {
    return open_read(path, errors).verify();
  } catch (const InternalError&) {
    throw;
  } catch (const Error& e) {  // missing, truncated, not HDF5, damaged superblock or root
    VerifyReport report;
    report.damaged.push_back(e.what());
    return report;
  }
}

int64_t H5File::count_attributes(const std::string& object) const {
  H5Id obj(open_object(object), H5Oclose);  // loads (and so checks) the object header
  int64_t count = 0;
  // Iterating loads every attribute, also those kept outside the header (dense storage).
  H5_CHECKED(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, nullptr,
                         [](hid_t, const char*, const H5A_info_t*, void* n) -> herr_t {
                           ++*static_cast<int64_t*>(n);
                           return 0;
                         },
                         &count),
             object);
  return count;
}

void H5File::verify_group(const std::string& group, VerifyReport& report) const {
  std::vector<std::string> names;
  try {
    report.attributes += count_attributes(group);
    names = list(group);
  } catch (const InternalError&) {
    throw;
  } catch (const Error& e) {
    report.damaged.push_back(e.what());
    return;
  }
  for (const std::string& name : names) {
    const std::string object = group == "/" ? "/" + name : group + "/" + name;
    try {
      H5O_info_t info;
      H5_CHECKED(H5Oget_info_by_name2(id_, object.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), object);
      if (info.type == H5O_TYPE_GROUP) {
        verify_group(object, report);
        continue;
      }
      const int64_t attributes = count_attributes(object);
      if (info.type == H5O_TYPE_DATASET) {
        if (checksummed_ && has_attr(object, kBlockAttr)) {
          const int64_t len = length(object), block = int_attr(object, kBlockAttr);
          const int64_t piece = std::max<int64_t>(1, kVerifyPieceElements / std::max<int64_t>(block, 1)) * block;
          for (int64_t start = 0; start < len; start += piece) read_range(object, start, std::min(piece, len - start));
        } else {
          read_tensor(object);
        }
        ++report.datasets;
      }
      report.attributes += attributes;
    } catch (const InternalError&) {
      throw;
    } catch (const Error& e) {
      report.damaged.push_back(e.what());
    }
  }
}

}  // namespace linea
