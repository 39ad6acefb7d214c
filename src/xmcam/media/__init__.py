"""Media: the frames inside DVRIP media packets, their sans-I/O demuxer, and writers.

The demuxer and frame types are standard library only; container output (MP4, MKV, MPEG-TS)
needs PyAV (a default dependency, imported only when used).
"""

from xmcam.media.annexb import (
    AccessUnit,
    access_units,
    has_nal_unit,
    is_keyframe_nal,
    nal_units,
    probe_size,
)
from xmcam.media.demux import MAX_FRAME_SIZE, MediaDemuxer
from xmcam.media.frames import (
    AudioCodec,
    AudioFrame,
    FrameType,
    InfoFrame,
    MediaFrame,
    PictureFrame,
    VideoCodec,
    VideoFrame,
    decode_timestamp,
    encode_audio_frame,
    encode_info_frame,
    encode_picture_frame,
    encode_timestamp,
    encode_video_frame,
)

__all__ = [
    "MAX_FRAME_SIZE",
    "AccessUnit",
    "AudioCodec",
    "AudioFrame",
    "FrameType",
    "InfoFrame",
    "MediaDemuxer",
    "MediaFrame",
    "PictureFrame",
    "VideoCodec",
    "VideoFrame",
    "access_units",
    "decode_timestamp",
    "encode_audio_frame",
    "encode_info_frame",
    "encode_picture_frame",
    "encode_timestamp",
    "encode_video_frame",
    "has_nal_unit",
    "is_keyframe_nal",
    "nal_units",
    "probe_size",
]
