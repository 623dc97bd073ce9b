import CUsher
import UsherCore

exit(usherMain())
