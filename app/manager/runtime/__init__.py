"""How the Manager's process is tuned to hold a large farm, each choice measured in bench/.

The cyclic garbage collector's pace (`gc_pace`), the open-file limit (`fd_limit`), how many
quick store calls run on the event loop per turn (`loop_turns`), and the batch that small writes of
the hot path wait in before they go to the store together (`write_behind`). None of them changes what the
Manager answers, only how fast and how many.
"""
