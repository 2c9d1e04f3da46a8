"""Coastlines and national borders for the report's map, from the GSHHG data Debian's gmt-gshhg-low package
installs (/usr/share/gmt-gshhg, GSHHG 2.3.7, Wessel and Smith, LGPL-3; nothing is fetched at run time).

The files are GMT's binned netCDF-4 (HDF5) files: the globe is cut into square bins; each bin holds line
segments whose points are 16-bit offsets from the bin's south-west corner. We read them with h5py and
return the segments of one level (coastline: 1 = land/ocean; borders: 1 = national) that fall in a
lon/lat box, as (lon, lat) arrays ready to plot. Segments are clipped at bin edges, so a coastline is
drawn as many short polylines: fine for lines, not for filled land."""
import os

import numpy as np

GSHHG_DIR = os.environ.get("CPN_GSHHG_DIR", "/usr/share/gmt-gshhg")


def available(res="l"):
    return os.path.isfile(os.path.join(GSHHG_DIR, f"binned_GSHHS_{res}.nc"))


def _segments(path, level, box, info_levels):
    import h5py

    lon0, lon1, lat0, lat1 = box
    out = []
    with h5py.File(path, "r") as f:
        bs = float(f["Bin_size_in_minutes"][0]) / 60.0
        nx = int(f["N_bins_in_360_longitude_range"][0])
        first_seg = f["Id_of_first_segment_in_a_bin"][:]
        n_seg = f["N_segments_in_a_bin"][:]
        first_pt = f["Id_of_first_point_in_a_segment"][:]
        if info_levels:
            info = f["Embedded_npts_levels_exit_entry_for_a_segment"][:].astype(np.int64)
            n_pt, lev = info >> 9, (info >> 6) & 7
        else:
            n_pt = f["N_points_for_a_segment"][:].astype(np.int64)
            lev = f["Hierarchial_level_of_a_segment"][:]
        dx = f["Relative_longitude_from_SW_corner_of_bin"][:].astype(np.uint16).astype(float) * bs / 65535.0
        dy = f["Relative_latitude_from_SW_corner_of_bin"][:].astype(np.uint16).astype(float) * bs / 65535.0
    for b in range(len(first_seg)):
        row, col = divmod(b, nx)
        blon, blat = col * bs, 90.0 - (row + 1) * bs
        for shift in (0.0, -360.0):  # bins are 0..360 east; a box west of Greenwich uses -360..0
            x0 = blon + shift
            if x0 + bs < lon0 or x0 > lon1 or blat + bs < lat0 or blat > lat1:
                continue
            for s in range(first_seg[b], first_seg[b] + n_seg[b]):
                if lev[s] != level:
                    continue
                p = first_pt[s]
                out.append((x0 + dx[p:p + n_pt[s]], blat + dy[p:p + n_pt[s]]))
    return out


def coastlines(box, res="l"):
    return _segments(os.path.join(GSHHG_DIR, f"binned_GSHHS_{res}.nc"), 1, box, True)


def borders(box, res="l"):
    return _segments(os.path.join(GSHHG_DIR, f"binned_border_{res}.nc"), 1, box, False)
