"""The frames workers upload: checked before decoding, shrunk, and kept as the newest.

What a picture file says about itself, read before any pixel is decoded (`picture_header`); the
thumbnails made from it with the decoder's memory bounded (`thumbnails`); the newest frame of the
farm and of each job (`last_rendered`) and of each worker (`worker_frames`).
"""
