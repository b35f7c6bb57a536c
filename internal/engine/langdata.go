package engine

// The word lists of the language lab's tasks (langtask.go), in English
// and Spanish. Every list is in a fixed order: the generator draws from
// it by index, so the same seed gives the same sentences.

// langPlace is a place and the language spoken there.
type langPlace struct{ Place, Language string }

// langSense is one meaning of an ambiguous object: the words after the
// blank, the word among them that settles it, and the answer at the
// blank.
type langSense struct{ Tail, Key, Answer string }

// langObject is an object with two meanings that only a later word
// tells apart.
type langObject struct {
	Object string
	Senses [2]langSense
}

// langItem is a short sentence whose last word is the blank's answer.
type langItem struct{ Prefix, Answer string }

// langWords is everything one language's templates draw from.
type langWords struct {
	Names   []string
	Places  []langPlace
	Objects []langObject
	Items   []langItem
	Fillers []string
	// The templates: {name}, {place} and {object} are replaced; ____ is
	// the blank.
	BornIn, Speaks, IsGood, UsedTo string
}

var langLists = map[Lang]*langWords{
	LangEN: {
		Names: []string{"Jane", "Tom", "Priya", "Omar", "Lena", "Diego", "Yuki", "Sara", "Pablo", "Anna", "Ravi", "Maya"},
		Places: []langPlace{
			{"Kerala", "Malayalam"}, {"Bavaria", "German"}, {"Catalonia", "Catalan"}, {"Andalusia", "Spanish"},
			{"Tuscany", "Italian"}, {"Quebec", "French"}, {"Bahia", "Portuguese"}, {"Punjab", "Punjabi"},
			{"Bengal", "Bengali"}, {"Hokkaido", "Japanese"}, {"Crete", "Greek"}, {"Galicia", "Galician"},
			{"Wales", "Welsh"}, {"Flanders", "Dutch"}, {"Silesia", "Polish"}, {"Anatolia", "Turkish"},
		},
		Objects: []langObject{
			{"mouse", [2]langSense{{"to make computers easier to use", "computers", "scroll"}, {"through the holes in the cheese", "cheese", "crawl"}}},
			{"bank", [2]langSense{{"by the river in the evening", "river", "fish"}, {"the money of the family", "money", "save"}}},
			{"bat", [2]langSense{{"the ball during the game", "ball", "hit"}, {"insects in the dark cave", "insects", "hunt"}}},
			{"crane", [2]langSense{{"steel beams on the building site", "steel", "lift"}, {"frogs in the shallow lake", "frogs", "catch"}}},
			{"pen", [2]langSense{{"letters to old friends", "letters", "write"}, {"the pigs on the farm", "pigs", "keep"}}},
		},
		Items: []langItem{
			{"The clouds are in the", "sky"}, {"The stars are in the", "sky"}, {"The fish are in the", "sea"},
			{"The cars are in the", "garage"}, {"The flowers are in the", "garden"}, {"The cows are in the", "field"},
			{"The students are in the", "classroom"}, {"The plates are in the", "cupboard"}, {"The books are in the", "library"},
			{"The patients are in the", "hospital"},
		},
		BornIn: "{name} was born in {place}.",
		Speaks: "{name} speaks ____ fluently.",
		IsGood: "The {object} is really good.",
		UsedTo: "The {object} is used to ____",
		Fillers: []string{
			"{name} used to play for the women's football team.",
			"She has been the captain of the team for the last two years.",
			"Every morning she goes for a long walk.",
			"The weather was warm and pleasant that week.",
			"Her brother likes to cook on weekends.",
			"They bought a new table for the living room.",
			"The train was late again on Monday.",
			"{name} reads a book every night before sleeping.",
			"Her neighbours have two small dogs.",
			"The shop on the corner sells fresh bread.",
			"Last summer the whole family went camping.",
			"She studied hard for her exams.",
			"The teacher gave everyone a short test.",
			"Her favourite colour is green.",
			"They often meet friends after work.",
			"The kitchen window faces the street.",
			"{name} learned to ride a bicycle early.",
			"Her grandmother tells wonderful stories.",
			"The concert was loud and crowded.",
			"Sometimes she paints in the afternoon.",
			"The bus stops right outside the house.",
			"Her cousin works as a nurse.",
			"They planted tomatoes in the spring.",
			"The old clock in the hall still works.",
			"{name} enjoys long conversations with friends.",
			"The city has many parks and squares.",
			"Her phone battery died during the trip.",
			"She always drinks tea in the morning.",
			"The children played until it got dark.",
			"Her father repairs old radios.",
			"The match ended in a draw.",
			"They moved to a bigger flat recently.",
			"{name} keeps a diary of small things.",
			"The coach was proud of the whole team.",
			"Her best friend lives next door.",
			"The museum was closed on Sunday.",
			"She practised the piano for an hour.",
			"The new road made the journey shorter.",
			"Her sister is a talented singer.",
			"They celebrated the victory with a dinner.",
			"{name} wakes up early every day.",
			"The lamp on the desk is very bright.",
			"Her uncle collects old stamps.",
			"The festival lasted three days.",
			"She runs five kilometres twice a week.",
			"The restaurant serves soup at lunch.",
			"Her classmates organised a small party.",
			"The garden gate needs a new lock.",
			"{name} scored two goals in the final.",
			"The meeting started a little late.",
			"Her parents visit every other weekend.",
			"The library opens at nine.",
			"She wrote a long letter to her aunt.",
			"The team trained even when it rained.",
		},
	},
	LangES: {
		Names: []string{"Jane", "Tomás", "Priya", "Omar", "Lena", "Diego", "Yuki", "Sara", "Pablo", "Ana", "Ravi", "Maya"},
		Places: []langPlace{
			{"Kerala", "malayalam"}, {"Baviera", "alemán"}, {"Cataluña", "catalán"}, {"Andalucía", "español"},
			{"Toscana", "italiano"}, {"Quebec", "francés"}, {"Bahía", "portugués"}, {"Punyab", "panyabí"},
			{"Bengala", "bengalí"}, {"Hokkaido", "japonés"}, {"Creta", "griego"}, {"Galicia", "gallego"},
			{"Gales", "galés"}, {"Flandes", "neerlandés"}, {"Silesia", "polaco"}, {"Anatolia", "turco"},
		},
		Objects: []langObject{
			{"mouse", [2]langSense{{"para facilitar el uso de las computadoras", "computadoras", "desplazarse"}, {"entre los agujeros del queso", "queso", "esconderse"}}},
			{"ratón", [2]langSense{{"por la pantalla de la computadora", "pantalla", "moverse"}, {"el queso de la cocina", "queso", "robar"}}},
			{"banco", [2]langSense{{"a la sombra en el parque", "parque", "sentarse"}, {"el dinero de la familia", "dinero", "ahorrar"}}},
			{"gato", [2]langSense{{"el coche cuando se pincha una rueda", "coche", "levantar"}, {"los ratones del granero", "ratones", "cazar"}}},
			{"pico", [2]langSense{{"la tierra dura del jardín", "tierra", "cavar"}, {"las semillas del nido", "semillas", "picotear"}}},
		},
		Items: []langItem{
			{"Las nubes están en el", "cielo"}, {"Las estrellas están en el", "cielo"}, {"Los peces están en el", "mar"},
			{"Los coches están en el", "garaje"}, {"Las flores están en el", "jardín"}, {"Las vacas están en el", "campo"},
			{"Los alumnos están en el", "aula"}, {"Los platos están en el", "armario"}, {"Los libros están en la", "biblioteca"},
			{"Los pacientes están en el", "hospital"},
		},
		BornIn: "{name} nació en {place}.",
		Speaks: "{name} habla ____ con fluidez.",
		IsGood: "El {object} es realmente bueno.",
		UsedTo: "El {object} se utiliza para ____",
		Fillers: []string{
			"{name} solía jugar para el equipo de fútbol femenino.",
			"Ha sido la capitana del equipo los últimos dos años.",
			"Todas las mañanas sale a dar un largo paseo.",
			"Esa semana el tiempo fue cálido y agradable.",
			"A su hermano le gusta cocinar los fines de semana.",
			"Compraron una mesa nueva para el salón.",
			"El tren volvió a llegar tarde el lunes.",
			"{name} lee un libro cada noche antes de dormir.",
			"Sus vecinos tienen dos perros pequeños.",
			"La tienda de la esquina vende pan fresco.",
			"El verano pasado toda la familia fue de acampada.",
			"Estudió mucho para sus exámenes.",
			"La profesora puso a todos una prueba corta.",
			"Su color favorito es el verde.",
			"A menudo quedan con amigos después del trabajo.",
			"La ventana de la cocina da a la calle.",
			"{name} aprendió pronto a montar en bicicleta.",
			"Su abuela cuenta historias maravillosas.",
			"El concierto fue ruidoso y estaba lleno.",
			"A veces pinta por la tarde.",
			"El autobús para justo delante de la casa.",
			"Su prima trabaja de enfermera.",
			"Plantaron tomates en primavera.",
			"El viejo reloj del pasillo todavía funciona.",
			"{name} disfruta de las largas charlas con amigos.",
			"La ciudad tiene muchos parques y plazas.",
			"Se le acabó la batería del teléfono durante el viaje.",
			"Siempre toma té por la mañana.",
			"Los niños jugaron hasta que se hizo de noche.",
			"Su padre arregla radios antiguas.",
			"El partido terminó en empate.",
			"Hace poco se mudaron a un piso más grande.",
			"{name} lleva un diario de las cosas pequeñas.",
			"El entrenador estaba orgulloso de todo el equipo.",
			"Su mejor amiga vive en la casa de al lado.",
			"El museo estaba cerrado el domingo.",
			"Practicó el piano durante una hora.",
			"La carretera nueva acortó el trayecto.",
			"Su hermana es una cantante con mucho talento.",
			"Celebraron la victoria con una cena.",
			"{name} se levanta temprano todos los días.",
			"La lámpara del escritorio da mucha luz.",
			"Su tío colecciona sellos antiguos.",
			"Las fiestas del pueblo duraron tres días.",
			"Corre cinco kilómetros dos veces por semana.",
			"El restaurante sirve sopa a mediodía.",
			"Sus compañeros de clase organizaron una pequeña fiesta.",
			"La puerta del huerto necesita una cerradura nueva.",
			"{name} marcó dos goles en la final.",
			"La reunión empezó un poco tarde.",
			"Sus padres la visitan cada dos fines de semana.",
			"La biblioteca abre a las nueve.",
			"Escribió una carta larga a su tía.",
			"El equipo entrenaba incluso cuando llovía.",
		},
	},
}
